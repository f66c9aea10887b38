using Studies.Trials.Specs;
using Studies.Trials.Training;

namespace Studies.Trials.Tests.Training;

public sealed class ScheduleLogicTests
{
    [Fact]
    public void Plateau_halves_the_rate_after_patience_epochs_without_improvement_as_pytorch_does()
    {
        // The sequence and expected rates follow torch.optim.lr_scheduler.ReduceLROnPlateau(factor=0.5, patience=2).
        var scheduler = new PlateauScheduler(new PlateauSpec(0.5, 2), 1.0);
        var losses = new[] { 1.0, 0.9, 0.95, 0.95, 0.95, 0.89, 0.8999, 0.91, 0.92 };
        var rates = losses.Select(scheduler.Step).ToArray();
        Assert.Equal(new[] { 1.0, 1.0, 1.0, 1.0, 0.5, 0.5, 0.5, 0.5, 0.25 }, rates);
    }

    [Fact]
    public void Plateau_respects_the_minimum_rate()
    {
        var scheduler = new PlateauScheduler(new PlateauSpec(0.1, 0, 0.05), 1.0);
        scheduler.Step(1);
        Assert.Equal(0.1, scheduler.Step(1), 12);
        Assert.Equal(0.05, scheduler.Step(1), 12);
        Assert.Equal(0.05, scheduler.Step(1), 12);
    }

    [Fact]
    public void Early_stopping_follows_the_metric_direction()
    {
        var auc = new EarlyStopping(new EarlyStoppingSpec(2, "roc_auc"));
        Assert.False(auc.ShouldStop(0.7));
        Assert.False(auc.ShouldStop(0.8));
        Assert.False(auc.ShouldStop(0.79));
        Assert.True(auc.ShouldStop(0.75));

        var loss = new EarlyStopping(new EarlyStoppingSpec(1, "loss"));
        Assert.False(loss.ShouldStop(0.5));
        Assert.False(loss.ShouldStop(0.4));
        Assert.True(loss.ShouldStop(0.45));
    }

    [Theory]
    [InlineData("roc_auc", true)]
    [InlineData("z_best", true)]
    [InlineData("sig_eff_at_bkg_1pct", true)]
    [InlineData("loss", false)]
    [InlineData("val_loss", false)]
    [InlineData("sigma_min_best_cut", false)]
    public void Metric_directions(string metric, bool higherIsBetter) =>
        Assert.Equal(higherIsBetter, MetricDirection.HigherIsBetter(metric));
}
