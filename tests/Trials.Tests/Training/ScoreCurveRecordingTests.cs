using Studies.Trials.Metrics;
using Studies.Trials.Results;
using Studies.Trials.Runs;
using Studies.Trials.Training;

namespace Studies.Trials.Tests.Training;

/// <summary>A trial's final evaluation records the score curves of every mass on the test split at the kept epoch.</summary>
public sealed class ScoreCurveRecordingTests
{
    /// <summary>
    /// The curves agree with the metrics the same evaluation recorded for the test split at the best epoch: one per mass, at
    /// the best epoch, the working point at best_cut, the ROC at 1 % and 10 % background equal to sig_eff_at_bkg_1pct/10pct.
    /// </summary>
    internal static void AssertMatchesMetrics(TrialResult result)
    {
        var rows = result.Masses.Where(m => m.Split == SplitKind.Test && m.EpochKind == EpochKind.Best).OrderBy(m => m.Mass).ToList();
        Assert.NotEmpty(rows);
        Assert.Equal(rows.Select(r => (r.Mass, r.Heldout)), result.Curves.Select(c => (c.Mass, c.Heldout)));
        var onePercent = ScoreCurveCalculator.RocGrid.ToList().FindIndex(x => Math.Abs(x - 0.01) < 1e-15);
        var tenPercent = ScoreCurveCalculator.RocGrid.ToList().FindIndex(x => Math.Abs(x - 0.1) < 1e-15);
        foreach (var (row, curves) in rows.Zip(result.Curves))
        {
            Assert.Equal(result.BestEpoch, curves.Epoch);
            Assert.Equal(row.Metrics[MetricNames.BestCut], curves.WorkingCut);
            Assert.Equal(row.Metrics[MetricNames.ZCut], curves.ZCut);
            Assert.Equal(row.Metrics[MetricNames.SigEffAtBkg1Pct], curves.SignalEfficiency[onePercent], 9);
            Assert.Equal(row.Metrics[MetricNames.SigEffAtBkg10Pct], curves.SignalEfficiency[tenPercent], 9);
            Assert.True(curves.BackgroundHistogram.Sum() > 0, $"no background at mass {row.Mass}");
        }
    }

    [Fact]
    public void A_net_records_one_set_of_curves_per_mass_at_its_best_epoch()
    {
        var runner = new TrialRunner(new SyntheticData(), new PhaseLossFactory(), new MassEvaluator());
        var result = runner.Run(TrainingPinTests.Cases["dnn-plateau-early"], new TrialRunOptions(), CancellationToken.None);
        Assert.True(result.Outcome == TrialOutcome.Completed, result.Error);
        AssertMatchesMetrics(result);
    }
}
