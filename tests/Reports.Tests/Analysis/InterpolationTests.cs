using Studies.Reports.Analysis;
using Studies.Reports.Input;
using Studies.Trials.Results;

namespace Studies.Reports.Tests.Analysis;

public sealed class InterpolationTests
{
    private static Dictionary<string, double> Auc(double v, double optimal) => new() { ["roc_auc"] = v, ["roc_auc_optimal"] = optimal };

    [Fact]
    public void RatiosAreFormedPerTrialThenAveragedOverSeeds()
    {
        // Trained at 1, 3, 5; held out 2 and 4. Seed s has AUC 0.6 + 0.05 m at trained masses, and at
        // held-out masses the interpolation times (1 + 0.01 s), so the ratios are 1.01 and 1.02.
        var trials = new List<TrialRecord>();
        for (var s = 1; s <= 2; s++)
        {
            double Line(double m) => 0.6 + 0.05 * m + 0.001 * s;
            trials.Add(Records.Completed($"t{s}", Records.Axes("pnn", s),
            [
                Records.Mass(1, false, Auc(Line(1), 0.9)), Records.Mass(3, false, Auc(Line(3), 0.9)), Records.Mass(5, false, Auc(Line(5), 0.9)),
                Records.Mass(2, true, Auc(Line(2) * (1 + 0.01 * s), Line(2) * (1 + 0.01 * s) * 2)),
                Records.Mass(4, true, Auc(Line(4) * (1 + 0.01 * s), Line(4) * (1 + 0.01 * s) * 4)),
                // Decoys: other split and epoch kind must not enter the ratios.
                Records.Mass(2, true, Auc(0.1, 0.9), SplitKind.Validation), Records.Mass(2, true, Auc(0.1, 0.9), kind: EpochKind.Last),
            ]));
        }
        var study = new StudyRecord { Name = "s", CompareAxes = ["model.kind"], Headline = "roc_auc", Trials = trials };
        var methods = MethodGroups.Build(new ReportInput { Studies = [study] });
        var curves = methods.Select(g => MassCurves.Build(g, "roc_auc")).ToList();
        var table = Interpolation.Build(methods, curves, "roc_auc");

        Assert.Equal([2.0, 4.0], table.HeldoutMasses);
        var row = Assert.Single(table.Rows);
        foreach (var p in row.PerMass)
        {
            Assert.Equal(1.015, p.ToInterpolation.Mean, 12);
            Assert.Equal(Math.Sqrt(2 * 0.005 * 0.005), p.ToInterpolation.Std, 12);
            Assert.Equal(p.Mass == 2 ? 0.5 : 0.25, p.ToOptimum.Mean, 12);
        }
        Assert.Equal(1.015, row.MeanToInterpolation, 12);
        Assert.Equal(0.375, row.MeanToOptimum, 12);
        Assert.Equal(1.0, row.AreaRatio, 12);
    }

    [Fact]
    public void AHeldOutMassBeyondTheTrainedRangeHasNoInterpolationRatio()
    {
        var trial = Records.Completed("t", Records.Axes("dnn", 1),
            [Records.Mass(1, false, Auc(0.8, 0.9)), Records.Mass(2, false, Auc(0.8, 0.9)), Records.Mass(3, true, Auc(0.7, 0.9))]);
        var study = new StudyRecord { Name = "s", CompareAxes = ["model.kind"], Headline = "roc_auc", Trials = [trial] };
        var methods = MethodGroups.Build(new ReportInput { Studies = [study] });
        var table = Interpolation.Build(methods, [MassCurves.Build(methods[0], "roc_auc")], "roc_auc");
        var ratio = Assert.Single(Assert.Single(table.Rows).PerMass);
        Assert.False(ratio.ToInterpolation.HasValue);
        Assert.Equal(0.7 / 0.9, ratio.ToOptimum.Mean, 12);
    }
}
