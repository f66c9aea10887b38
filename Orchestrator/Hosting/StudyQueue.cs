namespace Studies.Orchestrator.Hosting;

/// <summary>
/// A folder of study files waiting to run: <c>studies submit</c> drops files in, <c>studies serve</c>
/// takes the oldest first. A taken file moves to <c>running/</c>, then to <c>done/</c> or
/// <c>failed/</c> (with a <c>.error.txt</c> beside it), so a look at the folder says where each study is.
/// </summary>
public sealed class StudyQueue(string directory)
{
    public string Directory { get; } = Path.GetFullPath(directory);
    public string Running => Path.Combine(Directory, "running");
    public string Done => Path.Combine(Directory, "done");
    public string Failed => Path.Combine(Directory, "failed");
    /// <summary>Where each queued file came from: relative data paths resolve against that folder, not the queue.</summary>
    public string Origins => Path.Combine(Directory, "origins");

    /// <summary>
    /// The right to serve this queue: one server per workspace, or two would take each other's running studies back as
    /// "abandoned". Held (an exclusive lock on a file, released by the kernel if the process dies) until disposed;
    /// null when another live server holds it.
    /// </summary>
    public IDisposable? TryLockServer()
    {
        EnsureExists();
        var path = Path.Combine(Directory, ".serve.lock");
        try
        {
            var stream = new FileStream(path, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None);
            // Beside the lock, not in it: the locked file cannot be read by the server that is refused.
            File.WriteAllText(Path.Combine(Directory, ".serve.owner"), $"{Environment.MachineName} pid {Environment.ProcessId}");
            return stream;
        }
        catch (IOException)
        {
            return null;
        }
    }

    /// <summary>Who holds the server lock, as it wrote itself down.</summary>
    public string ServerLockHolder()
    {
        try
        {
            return File.ReadAllText(Path.Combine(Directory, ".serve.owner")).Trim();
        }
        catch (IOException)
        {
            return "another process";
        }
    }

    public void EnsureExists()
    {
        foreach (var d in new[] { Directory, Running, Done, Failed, Origins }) System.IO.Directory.CreateDirectory(d);
    }

    /// <summary>Copies a study file into the queue under a unique, time-ordered name; written atomically.</summary>
    public string Submit(string studyFile)
    {
        EnsureExists();
        var name = $"{DateTime.UtcNow:yyyyMMddTHHmmssfff}-{Path.GetFileNameWithoutExtension(studyFile)}.yaml";
        var target = Path.Combine(Directory, name);
        var temp = Path.Combine(Directory, $".{name}.tmp");
        File.Copy(studyFile, temp, overwrite: true);
        File.WriteAllText(Path.Combine(Origins, name), Path.GetDirectoryName(Path.GetFullPath(studyFile)));
        File.Move(temp, target);
        return target;
    }

    /// <summary>The folder the queued file was submitted from, or null for a file copied in by hand (its own folder counts).</summary>
    public string? OriginOf(string queuedFile)
    {
        var origin = Path.Combine(Origins, Path.GetFileName(queuedFile));
        return File.Exists(origin) ? File.ReadAllText(origin).Trim() : null;
    }

    /// <summary>Moves the oldest waiting study to <c>running/</c> and returns its new path, or null.</summary>
    public string? TakeNext()
    {
        EnsureExists();
        foreach (var file in System.IO.Directory.GetFiles(Directory, "*.yaml").Concat(System.IO.Directory.GetFiles(Directory, "*.yml")).Order(StringComparer.Ordinal))
        {
            var target = Path.Combine(Running, Path.GetFileName(file));
            try
            {
                File.Move(file, target);
                return target;
            }
            catch (IOException)
            {
                // Another server took it first.
            }
        }
        return null;
    }

    /// <summary>Studies left in <c>running/</c> by a server that died go back to the queue first.</summary>
    public int RecoverAbandoned()
    {
        EnsureExists();
        var n = 0;
        foreach (var file in System.IO.Directory.GetFiles(Running, "*.y*ml"))
        {
            File.Move(file, Path.Combine(Directory, Path.GetFileName(file)), overwrite: true);
            n++;
        }
        return n;
    }

    public void Finish(string runningFile, bool succeeded, string? error)
    {
        var target = Path.Combine(succeeded ? Done : Failed, Path.GetFileName(runningFile));
        File.Move(runningFile, target, overwrite: true);
        if (error is not null) File.WriteAllText(target + ".error.txt", error);
    }

    /// <summary>Puts a study that was interrupted (server stopping) back at the head of the queue.</summary>
    public void Return(string runningFile) => File.Move(runningFile, Path.Combine(Directory, Path.GetFileName(runningFile)), overwrite: true);
}
