namespace Studies.Trials.Results;

/// <summary>
/// What the seed papers' score figures need, for one mass hypothesis, measured on the test split at the kept (best)
/// epoch: the ROC at fixed background efficiencies with the working point, the classifier-output distributions of
/// signal and background in fixed bins, and the significance at each bin edge taken as the cut. Compact on purpose
/// (about 200 numbers per mass, ~3 KB stored): the events' scores themselves are not kept.
/// </summary>
public sealed record ScoreCurves
{
    public required double Mass { get; init; }
    public bool Heldout { get; init; }
    /// <summary>The global epoch (1-based) the curves were measured at: the trial's best epoch.</summary>
    public int Epoch { get; init; }

    /// <summary>The ROC's background efficiencies (relative: passing over total background weight), ascending.</summary>
    public IReadOnlyList<double> BackgroundEfficiency { get; init; } = [];
    /// <summary>Signal efficiency (relative) at each <see cref="BackgroundEfficiency"/>, linearly interpolated on the exact ROC; NaN without both classes.</summary>
    public IReadOnlyList<double> SignalEfficiency { get; init; } = [];

    /// <summary>Bin edges of the classifier score, ascending (bins + 1 values); bin k holds Edges[k] &lt;= score &lt; Edges[k+1], the last bin also its upper edge.</summary>
    public IReadOnlyList<double> Edges { get; init; } = [];
    /// <summary>Signal per bin as absolute efficiency (sums to the signal efficiency of the mass's window: 1 for a full acceptance).</summary>
    public IReadOnlyList<double> SignalHistogram { get; init; } = [];
    /// <summary>Background per bin as expected events at the data set's luminosity.</summary>
    public IReadOnlyList<double> BackgroundHistogram { get; init; } = [];
    /// <summary>
    /// Z = s/sqrt(b) selecting score &gt;= Edges[k], one value per bin (k &lt; bins); NaN where that cut does not qualify
    /// for z_best (too little background yield or too few simulated background events, too little signal efficiency).
    /// </summary>
    public IReadOnlyList<double> Significance { get; init; } = [];

    /// <summary>The cut of sigma_min_best_cut (chosen on validation) and its efficiencies on this split: the ROC's working point.</summary>
    public double WorkingCut { get; init; } = double.NaN;
    public double WorkingSignalEfficiency { get; init; } = double.NaN;
    public double WorkingBackgroundEfficiency { get; init; } = double.NaN;
    /// <summary>The cut of z_best (chosen on validation).</summary>
    public double ZCut { get; init; } = double.NaN;
}
