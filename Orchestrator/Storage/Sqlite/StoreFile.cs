using System.Buffers.Binary;
using Studies.Trials.Data;

namespace Studies.Orchestrator.Storage.Sqlite;

/// <summary>
/// What the bytes of an existing store file say before SQLite touches it: SQLite opens almost anything (a file of 50
/// bytes is "an empty database" to it, a text file fails only at the first query, and a database of another program
/// would get the studies schema added), so the header is read first and nothing is written unless it is an SQLite file
/// of the right shape. Format: https://www.sqlite.org/fileformat2.html#the_database_header.
/// </summary>
public static partial class StoreFile
{
    [System.Runtime.InteropServices.LibraryImport("libc", EntryPoint = "link", SetLastError = true, StringMarshalling = System.Runtime.InteropServices.StringMarshalling.Utf8)]
    private static partial int Link(string existing, string created);

    private const int Eexist = 17;

    /// <summary>
    /// Gives <paramref name="built"/> the name <paramref name="target"/> unless that name exists: link(2), which is atomic
    /// and fails with EEXIST, so of several processes creating a store at once exactly one wins and none replaces a store
    /// another already opened (rename(2) would). False when another file got there first. Where hard links are not
    /// supported, File.Move without overwrite (its existence check and rename are two steps).
    /// </summary>
    public static bool TryPublish(string built, string target)
    {
        if (!OperatingSystem.IsWindows())
        {
            if (Link(built, target) == 0) return true;
            if (System.Runtime.InteropServices.Marshal.GetLastPInvokeError() == Eexist) return false;
        }
        try
        {
            File.Move(built, target, overwrite: false);
            return true;
        }
        catch (IOException) when (File.Exists(target))
        {
            return false;
        }
    }

    /// <summary>Stamped into new stores (SQLite's <c>application_id</c>, header offset 68): "STDS".</summary>
    public const int ApplicationId = 0x53544453;

    private static ReadOnlySpan<byte> Magic => "SQLite format 3\0"u8;

    private const string MoveAway = "move it away (or restore it from a backup) to start a new one, or name another store with --store";

    /// <summary>Throws <see cref="StoreException"/> with one line of advice when <paramref name="full"/> cannot be a studies store.</summary>
    public static void Inspect(string full)
    {
        if (FileKinds.Of(full) is var kind && kind is FileKind.Missing) return;
        if (kind != FileKind.Regular)
            throw new StoreException($"{full} is {kind.Describe()}, not a studies database; name another store with --store");
        var info = new FileInfo(full);
        var length = info.Length;
        if (length == 0)
            throw new StoreException($"{full} is empty (0 bytes): not a studies database, perhaps truncated by a full disk or a failed copy. " +
                "Move it away to start a new one, or restore it from a backup");
        var header = new byte[100];
        int read;
        using (var stream = new FileStream(full, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete, 1))
            read = stream.ReadAtLeast(header, header.Length, throwOnEndOfStream: false);
        var magic = Math.Min(read, Magic.Length);
        if (!header.AsSpan(0, magic).SequenceEqual(Magic[..magic]))
            throw new StoreException($"{full} is not a valid SQLite database (nor a studies store): studies will not write into it; {MoveAway}");
        if (read < header.Length)
            throw new StoreException($"{full} is truncated: {length} bytes, shorter than an SQLite header (100 bytes); its end is missing, " +
                $"perhaps cut by a full disk or a failed copy. Recorded results cannot be read from it; {MoveAway}");
        var pageSize = BinaryPrimitives.ReadUInt16BigEndian(header.AsSpan(16)) is var p && p == 1 ? 65536 : p;
        if (pageSize < 512 || (pageSize & (pageSize - 1)) != 0)
            throw new StoreException($"{full} is damaged: its header names an impossible page size ({pageSize}); restore it from a backup, or {MoveAway}");
        if (length % pageSize != 0)
            throw new StoreException($"{full} is truncated or damaged: {length} bytes is not a whole number of its {pageSize}-byte pages; " +
                $"restore it from a backup, or {MoveAway}");
        // The header's page count is valid only when its "version-valid-for" equals the change counter; and in WAL mode
        // pages may still live in the -wal file, so the count is compared only when there is none.
        var pages = BinaryPrimitives.ReadUInt32BigEndian(header.AsSpan(28));
        var valid = BinaryPrimitives.ReadUInt32BigEndian(header.AsSpan(92)) == BinaryPrimitives.ReadUInt32BigEndian(header.AsSpan(24));
        var wal = new FileInfo(full + "-wal");
        if (valid && pages > 0 && (long)pages * pageSize > length && !(wal.Exists && wal.Length > 0))
            throw new StoreException($"{full} is truncated: {length} bytes where its header records {(long)pages * pageSize} " +
                $"({pages} pages of {pageSize}); the end is missing (a full disk or a failed copy). Restore it from a backup, or {MoveAway}");
    }
}
