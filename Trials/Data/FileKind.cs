using System.Runtime.InteropServices;

namespace Studies.Trials.Data;

/// <summary>
/// What kind of file a path names, before anything opens it: a study, data or store path that is a device
/// (<c>/dev/zero</c>, <c>/dev/urandom</c>) would be read until memory runs out, and a FIFO blocks the opener forever,
/// so every input is checked to be a regular file first (symbolic links followed).
/// </summary>
public enum FileKind { Missing, Regular, Directory, Fifo, CharacterDevice, BlockDevice, Socket, Other }

public static partial class FileKinds
{
    // .NET's own shim over stat(2) (the one File.Exists uses): its FileStatus starts {int Flags; int Mode; ...} on every
    // platform with the type bits in PAL constants, unlike libc's struct stat whose layout differs per architecture.
    [LibraryImport("libSystem.Native", EntryPoint = "SystemNative_Stat", StringMarshalling = StringMarshalling.Utf8)]
    private static unsafe partial int Stat(string path, byte* status);

    public static unsafe FileKind Of(string path)
    {
        if (OperatingSystem.IsWindows()) return File.Exists(path) ? FileKind.Regular : Directory.Exists(path) ? FileKind.Directory : FileKind.Missing;
        var status = stackalloc byte[256]; // the struct is 120 bytes; room to spare for later runtimes
        if (Stat(path, status) != 0) return FileKind.Missing;
        return (*(int*)(status + 4) & 0xF000) switch
        {
            0x8000 => FileKind.Regular,
            0x4000 => FileKind.Directory,
            0x1000 => FileKind.Fifo,
            0x2000 => FileKind.CharacterDevice,
            0x6000 => FileKind.BlockDevice,
            0xC000 => FileKind.Socket,
            _ => FileKind.Other,
        };
    }

    /// <summary>"a folder", "a FIFO (named pipe)", ...: for "PATH is X, not a file".</summary>
    public static string Describe(this FileKind kind) => kind switch
    {
        FileKind.Directory => "a folder",
        FileKind.Fifo => "a FIFO (named pipe)",
        FileKind.CharacterDevice => "a character device",
        FileKind.BlockDevice => "a block device",
        FileKind.Socket => "a socket",
        FileKind.Missing => "missing",
        FileKind.Regular => "a regular file",
        _ => "not a regular file",
    };

    /// <summary>Null when <paramref name="path"/> is a regular file or missing (the caller reports "not found" its own way); else why it cannot be read as one.</summary>
    public static string? NotRegular(string path) =>
        Of(path) is var kind && kind is FileKind.Regular or FileKind.Missing ? null : $"{path} is {kind.Describe()}, not a regular file";
}
