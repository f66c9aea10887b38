using System.Buffers.Binary;
using System.IO.Compression;
using System.Text;

namespace Studies.Trials.Data;

/// <summary>
/// Reads mapped arrays of a NumPy .npz (a zip of .npy files, stored or deflated) into a
/// <see cref="RawTable"/>. Supported: 1-D, C order, little-endian (or byte-sized) f4, f8, i4, i8,
/// u1, b1, and fixed-width unicode (U) for the process column.
/// </summary>
public static class NpzTable
{
    public static RawTable Read(string path, ColumnMap map)
    {
        DataException.RequireRegularFile(path);
        ZipArchive zip;
        try { zip = ZipFile.OpenRead(path); }
        catch (InvalidDataException e) { throw new DataException($"{path}: not a readable .npz file (a zip archive cut short or damaged, or no zip at all: {e.Message})", e); }
        using (zip)
        {
            var entries = zip.Entries.Where(e => e.FullName.EndsWith(".npy", StringComparison.Ordinal))
                .ToDictionary(e => e.FullName[..^4], StringComparer.Ordinal);
            var names = entries.Keys.ToList();
            if (names.Count == 0) throw new DataException($"{path}: the .npz archive holds no arrays (no .npy entry): an empty or foreign zip file");
            if (names.Count > DataLimits.MaxColumns) throw new DataException($"{path}: {names.Count:N0} arrays; at most {DataLimits.MaxColumns:N0}");
            var features = map.ResolveFeatures(path, names);

            NpyArray Load(string name) => NpyArray.Read(path, name, entries[name]);
            var labelArray = Load(map.Label);
            int n = labelArray.Length;
            if (n == 0) throw new DataException($"{path}: array '{map.Label}' is empty (0 rows): the file holds no events");
            NpyArray Column(string name)
            {
                var array = Load(name);
                if (array.Length != n) throw new DataException($"{path}: array '{name}' has {array.Length} elements, array '{map.Label}' has {n}");
                return array;
            }

            var label = new byte[n];
            var labels = labelArray.Numbers();
            for (int r = 0; r < n; r++)
            {
                if (labels[r] != 0 && labels[r] != 1) throw new DataException($"{path}: row {r + 1}: array '{map.Label}': {labels[r]} is not a label (0 or 1)");
                label[r] = (byte)labels[r];
            }
            int d = features.Length;
            var featureData = new float[(long)n * d];
            for (int j = 0; j < d; j++)
            {
                var values = Column(features[j]).Numbers();
                for (int r = 0; r < n; r++) featureData[r * d + j] = (float)values[r];
            }
            return new RawTable
            {
                File = path, Rows = n, FeatureNames = features, Features = featureData, Label = label,
                Mass = Column(map.Mass).Numbers(),
                Weight = map.Weight is null ? null : Column(map.Weight).Numbers(),
                Window = map.Window is null ? null : Column(map.Window).Numbers(),
                Process = map.Process is null ? null : Column(map.Process).Texts(),
                Map = map, Where = r => $"{path}: row {r + 1}",
            };
        }
    }

    /// <summary>One .npy array: its dtype code and raw little-endian bytes.</summary>
    private sealed class NpyArray(string file, string name, string descr, int length, byte[] data)
    {
        public int Length => length;

        public static NpyArray Read(string file, string name, ZipArchiveEntry entry)
        {
            DataException Bad(string what) => new($"{file}: array '{name}': {what}");
            byte[] bytes;
            try
            {
                if (entry.Length > DataLimits.MaxDecompressedBytes)
                    throw Bad($"expands to {entry.Length:N0} bytes, more than the limit of {DataLimits.MaxDecompressedBytes >> 20:N0} MB (set STUDIES_DATA_MAX_MB to raise it)");
                using var stream = new CappedStream(entry.Open(), $"{file}: array '{name}'");
                using var buffer = new MemoryStream();
                stream.CopyTo(buffer);
                bytes = buffer.ToArray();
            }
            catch (InvalidDataException e)
            {
                throw Bad($"the archive entry is damaged or cut short ({e.Message})");
            }
            if (bytes.Length < 10 || bytes[0] != 0x93 || Encoding.ASCII.GetString(bytes, 1, 5) != "NUMPY") throw Bad("not a .npy array (bad magic)");
            int major = bytes[6];
            long headerLength;
            int offset;
            if (major == 1) { headerLength = BinaryPrimitives.ReadUInt16LittleEndian(bytes.AsSpan(8)); offset = 10; }
            else if (major is 2 or 3)
            {
                if (bytes.Length < 12) throw Bad($"the .npy header is cut short ({bytes.Length} bytes in all)");
                headerLength = BinaryPrimitives.ReadUInt32LittleEndian(bytes.AsSpan(8));
                offset = 12;
            }
            else throw Bad($"unsupported .npy version {major}");
            if (offset + headerLength > bytes.Length)
                throw Bad($"the .npy header is cut short or damaged: it claims {headerLength} bytes, the entry has {bytes.Length - offset} after the preamble");
            var header = Encoding.Latin1.GetString(bytes, offset, (int)headerLength);
            DataException Malformed(string what) => Bad($"malformed .npy header ({what}): {header.Trim()}");
            string descr = Field(header, "descr").Trim('\'', '"', ' ');
            if (descr.Length < 3) throw Malformed(descr.Length == 0 ? "no 'descr'" : $"dtype '{descr}'");
            if (Field(header, "fortran_order").Trim() != "False") throw Bad("Fortran order is not supported (save it C-ordered)");
            var shape = Field(header, "shape").Trim(' ', '(', ')').Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
            if (shape.Length != 1) throw Bad($"must be 1-D, has shape ({string.Join(", ", shape)})");
            if (!int.TryParse(shape[0], System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out int length))
                throw Malformed($"shape '{shape[0]}'");
            if (descr.StartsWith('>') && !descr.EndsWith("1")) throw Bad($"big-endian dtype '{descr}' is not supported");
            int size = ElementSize(descr) ?? throw Bad($"dtype '{descr}' is not supported (f4, f8, i4, i8, u1, b1, U)");
            var data = bytes.AsSpan(offset + (int)headerLength).ToArray();
            if (data.LongLength < (long)length * size) throw Bad($"truncated: {data.Length} bytes for {length} elements of '{descr}'");
            return new NpyArray(file, name, descr, length, data);
        }

        private static string Field(string header, string key)
        {
            int k = header.IndexOf($"'{key}'", StringComparison.Ordinal);
            if (k < 0) return "";
            int colon = header.IndexOf(':', k);
            if (colon < 0) return "";
            int end = key == "shape" ? header.IndexOf(')', colon) + 1 : header.IndexOf(',', colon);
            return header[(colon + 1)..(end <= 0 ? header.Length : end)];
        }

        private static int? ElementSize(string descr) => descr[1..] switch
        {
            "f4" or "i4" => 4,
            "f8" or "i8" => 8,
            "u1" or "b1" => 1,
            var u when u.StartsWith('U') && int.TryParse(u[1..], out var chars) && chars is > 0 and < 1 << 20 => 4 * chars,
            _ => null,
        };

        public double[] Numbers()
        {
            var values = new double[length];
            var span = data.AsSpan();
            switch (descr[1..])
            {
                case "f4": for (int i = 0; i < length; i++) values[i] = BinaryPrimitives.ReadSingleLittleEndian(span[(4 * i)..]); break;
                case "f8": for (int i = 0; i < length; i++) values[i] = BinaryPrimitives.ReadDoubleLittleEndian(span[(8 * i)..]); break;
                case "i4": for (int i = 0; i < length; i++) values[i] = BinaryPrimitives.ReadInt32LittleEndian(span[(4 * i)..]); break;
                case "i8": for (int i = 0; i < length; i++) values[i] = BinaryPrimitives.ReadInt64LittleEndian(span[(8 * i)..]); break;
                case "u1" or "b1": for (int i = 0; i < length; i++) values[i] = span[i]; break;
                default: throw new DataException($"{file}: array '{name}': dtype '{descr}' is not numeric");
            }
            return values;
        }

        public string[] Texts()
        {
            if (descr[1] != 'U')
            {
                // Numeric process codes become their decimal text.
                return Numbers().Select(v => v.ToString(System.Globalization.CultureInfo.InvariantCulture)).ToArray();
            }
            int chars = int.Parse(descr[2..]);
            var texts = new string[length];
            var interned = new Dictionary<string, string>();
            for (int i = 0; i < length; i++)
            {
                var s = Encoding.UTF32.GetString(data, 4 * chars * i, 4 * chars).TrimEnd('\0');
                if (!interned.TryGetValue(s, out var t)) interned[s] = t = s;
                texts[i] = t;
            }
            return texts;
        }
    }
}
