using Studies.Trials.Engine;

namespace Studies.Trials.Tests.Engine;

/// <summary>libtorch's errors reach users as one line: the C++ backtrace c10::Error appends is cut.</summary>
public sealed class NativeErrorTests
{
    [Fact]
    public void Saving_to_a_full_disk_is_one_short_line_without_the_cpp_backtrace()
    {
        // /dev/full answers every write with ENOSPC: a full disk without filling one.
        if (!File.Exists("/dev/full")) return;
        using var scope = TensorScope.Begin();
        var e = Assert.Throws<TorchException>(() => Torch.Save("/dev/full", [("w", Torch.Zeros([1000]))]));
        Assert.DoesNotContain("\n", e.Message);
        Assert.DoesNotContain("frame #", e.Message);
        Assert.DoesNotContain("Exception raised from", e.Message);
        Assert.True(e.Message.Length < 300, $"{e.Message.Length} characters: {e.Message}");
        Assert.Contains("cannot write /dev/full: No space left on device", e.Message);
    }

    [Fact]
    public void A_libtorch_message_keeps_its_text_and_loses_its_frames()
    {
        var frames = string.Concat(Enumerable.Range(0, 20).Select(i => $"\nframe #{i}: c10::Error::Error(c10::SourceLocation, std::string) + 0x{i:x}a (0x7f in /usr/lib/libc10.so)"));
        var message = "PytorchStreamWriter failed writing file data/0: file write failed\nException raised from validate at ../caffe2/serialize/inline_container.cc:318 (most recent call first):" + frames;
        Assert.True(message.Length > 1500);
        Assert.Equal("PytorchStreamWriter failed writing file data/0: file write failed", TorchErrors.WithoutBacktrace(message));
        Assert.Equal("mat1 and mat2 shapes cannot be multiplied (2x3 and 4x5)", TorchErrors.WithoutBacktrace("mat1 and mat2 shapes cannot be multiplied (2x3 and 4x5)"));
        Assert.Equal("a b", TorchErrors.WithoutBacktrace("a\nb"));
    }
}
