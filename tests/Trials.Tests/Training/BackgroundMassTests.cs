using System.Text.Json.Nodes;
using Studies.Trials.Data;
using Studies.Trials.Training;

namespace Studies.Trials.Tests.Training;

/// <summary>Background rows without a mass, and <c>background_mass: stored</c> reading the file's own column.</summary>
public sealed class BackgroundMassTests : IDisposable
{
    private readonly string _dir = Path.Combine(Path.GetTempPath(), $"bgmass-{Guid.NewGuid():N}");

    public BackgroundMassTests() => Directory.CreateDirectory(_dir);

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static TrialData Data(double[]? stored) => new()
    {
        Count = 4, FeatureCount = 1, Features = [0.1f, 0.2f, 0.3f, 0.4f], IsSignal = [true, false, false, true],
        Mass = [500, double.NaN, double.NaN, 750], Process = [0, 1, 1, 0], ProcessNames = ["signal", "background"],
        Weight = [1, 1, 1, 1], Train = [0, 1, 2, 3], Validation = [], Test = [], TrainedMasses = [500, 750], HeldoutMasses = [],
        GeneratedPerMass = new Dictionary<double, double>(), StoredMass = stored,
    };

    [Fact]
    public void A_csv_background_row_may_leave_the_mass_empty()
    {
        var path = Path.Combine(_dir, "e.csv");
        File.WriteAllText(path, "label,x,mass\n1,0.5,500\n0,0.25,\n0,0.75,612.5\n");
        var set = new CsvSource().Load(new JsonObject { ["path"] = path }, 0);
        Assert.Equal([500.0, double.NaN, 612.5], set.StoredMass!);
        Assert.Equal([500.0, double.NaN, double.NaN], set.Mass);

        File.WriteAllText(path, "label,x,mass\n1,0.5,\n0,0.25,\n");
        var e = Assert.Throws<DataException>(() => new CsvSource().Load(new JsonObject { ["path"] = path }, 0));
        Assert.Equal($"{path}:2: column 'mass': signal mass 'NaN' is not a finite number", e.Message);
    }

    [Fact]
    public void Stored_uses_the_file_column_for_background_and_keeps_signal_masses()
    {
        using var set = new TrainingSet(Data([499.99997, 612.5, 430, 750]), [0, 1, 2, 3], MassEncoding.Divide(1), Device.CPU);
        using var generator = new Generator(1);
        set.AssignBackgroundMasses("stored", generator);
        Assert.Equal([500.0, 612.5, 430, 750], set.Mass);
        Assert.Equal([500f, 612.5f, 430f, 750f], set.ScaledMass!.ToArray<float>());
    }

    [Fact]
    public void Stored_without_a_stored_mass_says_which_event_and_what_to_do()
    {
        using var generator = new Generator(1);
        using var missing = new TrainingSet(Data([500, 612.5, double.NaN, 750]), [0, 1, 2, 3], MassEncoding.Divide(1), Device.CPU);
        var e = Assert.Throws<DataException>(() => missing.AssignBackgroundMasses("stored", generator));
        Assert.Contains("background event 3 of the data set has no stored mass", e.Message);
        using var generated = new TrainingSet(Data(null), [0, 1, 2, 3], MassEncoding.Divide(1), Device.CPU);
        Assert.Contains("needs a data file with a mass column", Assert.Throws<DataException>(() => generated.AssignBackgroundMasses("stored", generator)).Message);
    }

    [Fact]
    public void Stored_masses_survive_the_input_standardisation()
    {
        var data = Data([500, 612.5, 430, 750]);
        var inputs = InputStandardization.Fit(data, data.Train, 750);
        var standardised = inputs.Apply(data);
        Assert.NotEqual(data.Features, standardised.Features);
        using var set = new TrainingSet(standardised, [0, 1, 2, 3], inputs.Mass, Device.CPU);
        using var generator = new Generator(1);
        set.AssignBackgroundMasses("stored", generator);
        Assert.Equal([500.0, 612.5, 430, 750], set.Mass);
    }
}
