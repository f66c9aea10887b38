using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.Trainers.LightGbm;
using Studies.Trials.Specs;

namespace Studies.Trials.Boosting;

/// <summary>
/// Fits one boosted ensemble with LightGBM through ML.NET (Microsoft.ML.LightGbm 6.0.0, which loads
/// the native lib_lightgbm 4.6.0 of the <c>LightGBM</c> package) and reads the trees back into a
/// <see cref="TreeEnsemble"/>, so partial ensembles (the first r rounds) can be scored for the
/// training curve without the library.
/// </summary>
/// <remarks>
/// Why LightGBM and not ML.NET's FastTree, measured on this VM (2 threads, 200 trees, 64 leaves,
/// learning rate 0.1, 255 bins, 100,000 weighted training events of 8 features, 50,000 test events,
/// load average ~35 from other work, OMP_WAIT_POLICY=PASSIVE): LightGBM 4.4-5.3 s, test AUC 0.8522;
/// FastTree 12.2-13.3 s, AUC 0.8508. With libgomp's threads spinning (no OMP_WAIT_POLICY) on the
/// loaded VM LightGBM took 159-295 s for 200,000 events: `studies` sets PASSIVE before libgomp loads
/// (<see cref="Engine.ThreadingEnvironment"/>), which this needs as much as libtorch does.
/// Settings are XGBoost's where LightGBM's differ, so `studies bench bdt` compares like with like:
/// the logistic with slope 1 (ML.NET's LightGBM default is 0.5), L2 on leaf values 1, minimum hessian
/// per leaf 1, and trees grown leaf-wise but capped at <c>depth</c> levels and 2^depth leaves.
/// </remarks>
public static class LightGbmFit
{
    /// <param name="features">Row-major [n, columns].</param>
    /// <param name="weights">Event weights (normalised by the caller to mean 1, so the minimum hessian means the same for every data set).</param>
    public static TreeEnsemble Fit(float[] features, int columns, bool[] labels, float[] weights, BoostingSpec spec, int threads, ulong seed,
        CancellationToken cancellation)
    {
        var n = labels.Length;
        if (features.Length != (long)n * columns) throw new ArgumentException($"expected {n * (long)columns} feature values, got {features.Length}");
        if (labels.All(l => l) || labels.All(l => !l))
            throw new ArgumentException($"a boosted ensemble needs signal and background events; its {n} training events are all {(n > 0 && labels[0] ? "signal" : "background")}");
        var ml = new MLContext(seed: (int)(seed % int.MaxValue));
        using var cancel = cancellation.Register(() => CancelExecution(ml));
        var schema = SchemaDefinition.Create(typeof(Row));
        schema[nameof(Row.Features)].ColumnType = new VectorDataViewType(NumberDataViewType.Single, columns);
        var rows = new Row[n];
        for (var i = 0; i < n; i++) rows[i] = new Row { Label = labels[i], Weight = weights[i], Features = features.AsSpan(i * columns, columns).ToArray() };
        var view = ml.Data.LoadFromEnumerable(rows, schema);
        var trainer = ml.BinaryClassification.Trainers.LightGbm(new LightGbmBinaryTrainer.Options
        {
            NumberOfIterations = spec.Trees,
            LearningRate = spec.LearningRate,
            NumberOfLeaves = spec.LeafCount,
            MinimumExampleCountPerLeaf = spec.MinEventsPerLeaf,
            MaximumBinCountPerFeature = spec.Bins,
            NumberOfThreads = Math.Max(1, threads),
            ExampleWeightColumnName = nameof(Row.Weight),
            Sigmoid = 1,
            Seed = (int)(seed % int.MaxValue),
            Verbose = false,
            Silent = true,
            Booster = new GradientBooster.Options { MaximumTreeDepth = spec.Depth, L2Regularization = 1, MinimumChildWeight = 1 },
        });
        var model = trainer.Fit(view);
        var ensemble = model.Model.SubModel.TrainedTreeEnsemble;
        var trees = ensemble.Trees.Select((t, k) => new RegressionTree(
            t.NumericalSplitFeatureIndexes.ToArray(), t.NumericalSplitThresholds.ToArray(), t.LeftChild.ToArray(), t.RightChild.ToArray(),
            t.LeafValues.Select(v => v * ensemble.TreeWeights[k]).ToArray())).ToList();
        if (ensemble.Trees.Any(t => t.CategoricalSplitFlags.Any(c => c)))
            throw new InvalidOperationException("LightGBM made a categorical split; the features are numerical");
        return new TreeEnsemble(ensemble.Bias, trees);
    }

    /// <summary>
    /// ML.NET stops a running fit between boosting rounds through ICancelable.CancelExecution, which
    /// MLContext implements explicitly (not public): reached by reflection, and a no-op if a later
    /// ML.NET renames it (the trainer then checks cancellation between fits and rounds only).
    /// </summary>
    private static void CancelExecution(MLContext ml)
    {
        var method = typeof(MLContext).GetMethods(System.Reflection.BindingFlags.Instance | System.Reflection.BindingFlags.NonPublic | System.Reflection.BindingFlags.Public)
            .FirstOrDefault(m => m.Name.EndsWith("CancelExecution", StringComparison.Ordinal) && m.GetParameters().Length == 0);
        method?.Invoke(ml, null);
    }

    /// <summary>One training event as ML.NET reads it (public: ML.NET builds its accessors by reflection).</summary>
    public sealed class Row
    {
        public bool Label { get; set; }
        public float[] Features { get; set; } = [];
        public float Weight { get; set; }
    }
}
