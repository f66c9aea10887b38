using System.Runtime.InteropServices;
using Studies.Orchestrator.Scheduling;
using Studies.Orchestrator.Storage;
using Studies.Orchestrator.Studies;
using Studies.Trials.Data;

namespace Studies.Orchestrator.Hosting;

/// <summary>
/// What <c>studies serve</c> checks of a study file taken off its queue before anything of it runs: the queue is a
/// folder other people write to (copied in by hand, or changed after <c>submit</c> validated it), so every path the
/// file names (data files, an SQLite <c>store:</c>, <c>checkpoints:</c>) must lie inside the folders this server may
/// use: its workspace and the data folders it was given (<c>serve --data-root DIR</c>, or
/// <c>STUDIES_Studies__DataRoots__0</c>, ...). Paths are compared after symbolic links are resolved, so a link inside
/// a root that points outside it does not count as inside. Then the data are checked as <c>submit</c> checks them.
/// </summary>
public static partial class QueuedStudyGuard
{
    /// <summary>Throws <see cref="ResourceException"/> (a path outside the roots) or <see cref="DataException"/> (bad data) before any trial starts.</summary>
    /// <param name="storeFromStudy">Whether the store was chosen by the file's <c>store:</c> key (not by the server's --store or STUDIES_STORE).</param>
    public static void Check(Study study, IReadOnlyList<PlannedTrial> trials, StoreLocation store, bool storeFromStudy, IReadOnlyList<string> roots)
    {
        var resolvedRoots = roots.Select(Canonical).Distinct().ToList();
        var where = $"{Path.GetFileName(study.SourcePath)}";
        foreach (var path in trials.Select(t => t.Spec.Data.Options["path"]?.GetValue<string>()).OfType<string>().Distinct())
            Require(path, "data file", where, resolvedRoots);
        if (study.Checkpoints is { } checkpoints) Require(checkpoints, "checkpoints folder", where, resolvedRoots);
        if (storeFromStudy)
        {
            if (!store.Backend.IsFile)
                throw new ResourceException($"{where}: a queued study may not choose a {store.Scheme} store ('store:'); the server's store is set with --store or STUDIES_STORE");
            Require(store.Target, "store", where, resolvedRoots);
        }
        var results = StudyDataCheck.Run(trials, filesOnly: true);
        var errors = results.SelectMany(r => r.Problems.Where(p => p.Severity == DataSeverity.Error)
            .Select(p => p.IsStudyLevel ? StudyDataCheck.Locate(study, p).ToString() : p.Message)).ToList();
        if (errors.Count > 0) throw new DataException(errors);
    }

    private static void Require(string path, string what, string where, IReadOnlyList<string> roots)
    {
        var real = Canonical(path);
        if (roots.Any(r => real == r || real.StartsWith(r.EndsWith('/') ? r : r + "/", StringComparison.Ordinal))) return;
        // The path is the file's own text; nothing is read from it.
        throw new ResourceException($"{where}: the {what} {DataLimits.Excerpt(path, 200)} is outside the folders this server may use " +
            $"({string.Join(", ", roots)}); add its folder with `studies serve --data-root DIR`");
    }

    [LibraryImport("libc", EntryPoint = "realpath", StringMarshalling = StringMarshalling.Utf8)]
    private static partial IntPtr RealPath(string path, IntPtr resolved);

    [LibraryImport("libc", EntryPoint = "free")]
    private static partial void Free(IntPtr pointer);

    /// <summary>The absolute path with every symbolic link resolved; a part that does not exist yet is appended to its existing parent's real path.</summary>
    public static string Canonical(string path)
    {
        var full = Path.GetFullPath(path);
        if (OperatingSystem.IsWindows()) return full;
        var rest = new Stack<string>();
        var current = full;
        while (true)
        {
            var real = RealPath(current, IntPtr.Zero);
            if (real != IntPtr.Zero)
            {
                var resolved = Marshal.PtrToStringUTF8(real)!;
                Free(real);
                return rest.Aggregate(resolved, Path.Combine);
            }
            var parent = Path.GetDirectoryName(current);
            if (parent is null) return full;
            rest.Push(Path.GetFileName(current));
            current = parent;
        }
    }
}
