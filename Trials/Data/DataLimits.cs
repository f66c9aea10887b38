using System.Globalization;
using System.Text;

namespace Studies.Trials.Data;

/// <summary>
/// Limits on what a data file may hold, so that a hostile or broken file (a 1 GB line in a 4 MB .gz, a header of
/// 200,000 columns, a gzip bomb) is one clear line in well under a second instead of minutes and gigabytes. Far
/// above any real analysis file (HEPMASS: 29 columns, lines of ~300 characters); documented in docs/study-format.md.
/// </summary>
public static class DataLimits
{
    /// <summary>Longest line of a CSV file, in characters (1 MiB): a 10,000-column line of 12-digit numbers is 130,000.</summary>
    public const int MaxLineChars = 1 << 20;

    /// <summary>Most columns in a CSV header or an NPZ archive.</summary>
    public const int MaxColumns = 10_000;

    /// <summary>Most bytes a compressed file may expand to: 64 GiB, or <c>STUDIES_DATA_MAX_MB</c> megabytes.</summary>
    public static long MaxDecompressedBytes { get; } =
        long.TryParse(Environment.GetEnvironmentVariable("STUDIES_DATA_MAX_MB"), NumberStyles.None, CultureInfo.InvariantCulture, out var mb) && mb > 0
            ? mb << 20 : 64L << 30;

    /// <summary>
    /// A piece of a file's text as a message may show it: at most <paramref name="max"/> characters, control characters
    /// and non-ASCII escaped (a NUL is <c>\0</c>, never itself), so a message is one readable line whatever the file holds.
    /// </summary>
    public static string Excerpt(ReadOnlySpan<char> text, int max = 40)
    {
        var b = new StringBuilder(Math.Min(text.Length, max) + 8);
        foreach (var c in text)
        {
            if (b.Length >= max)
            {
                b.Append("...");
                break;
            }
            if (c == '\0') b.Append("\\0");
            else if (c == '\t') b.Append("\\t");
            else if (c < ' ' || c == 0x7f || char.IsSurrogate(c) || c == '\uFFFD') b.Append(CultureInfo.InvariantCulture, $"\\x{(int)c:x2}");
            else b.Append(c);
        }
        return b.ToString();
    }
}

/// <summary>A read-only view of a decompressing stream that stops at <see cref="DataLimits.MaxDecompressedBytes"/>.</summary>
internal sealed class CappedStream(Stream inner, string path) : Stream
{
    private long total;

    public override int Read(byte[] buffer, int offset, int count) => Count(inner.Read(buffer, offset, count));

    public override int Read(Span<byte> buffer) => Count(inner.Read(buffer));

    private int Count(int n)
    {
        total += n;
        if (total > DataLimits.MaxDecompressedBytes)
            throw new DataException($"{path}: expands to more than {DataLimits.MaxDecompressedBytes >> 20:N0} MB when decompressed " +
                "(the limit; set STUDIES_DATA_MAX_MB to raise it): a damaged file or a compression bomb");
        return n;
    }

    public override bool CanRead => true;
    public override bool CanSeek => false;
    public override bool CanWrite => false;
    public override long Length => throw new NotSupportedException();
    public override long Position { get => total; set => throw new NotSupportedException(); }
    public override void Flush() { }
    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
    public override void SetLength(long value) => throw new NotSupportedException();
    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

    protected override void Dispose(bool disposing)
    {
        if (disposing) inner.Dispose();
        base.Dispose(disposing);
    }
}
