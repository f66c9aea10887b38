using System.Text.Json.Nodes;
using Studies.Reports.Analysis;
using Studies.Trials.Training;

namespace Studies.Reports.Rendering;

/// <summary>
/// Vega-Lite specs with their (already aggregated) data inlined. Values that are not finite are
/// left out: JSON has no NaN, and a missing point reads better than a broken line.
/// </summary>
public static class Charts
{
    private const int Width = 640;
    private const int Height = 280;

    /// <summary>Metric versus mass: seed mean as a line, ±1 std as a band, held-out masses as open points, the optimum dashed black.</summary>
    public static JsonObject MetricVersusMass(IReadOnlyList<MassCurve> curves, string metric, Input.StudyUnits? units = null)
    {
        units ??= Input.StudyUnits.Default;
        var log = metric.StartsWith("sigma_min", StringComparison.Ordinal);
        var rows = new JsonArray();
        var optimal = new JsonArray();
        foreach (var curve in curves)
        {
            foreach (var p in curve.Points)
            {
                if (!double.IsFinite(p.Value.Mean)) continue;
                var std = double.IsFinite(p.Value.Std) ? p.Value.Std : 0;
                var lo = p.Value.Mean - std;
                // A log axis cannot show a band reaching zero; clip it a decade below the mean.
                if (log && lo <= 0) lo = p.Value.Mean / 10;
                rows.Add(new JsonObject
                {
                    ["method"] = curve.Method.Label, ["mass"] = p.Mass, ["mean"] = p.Value.Mean, ["lo"] = lo,
                    ["hi"] = p.Value.Mean + std, ["std"] = std, ["seeds"] = p.Value.Count,
                    ["mass_kind"] = p.Heldout ? HeldoutLabel : TrainedLabel,
                });
                if (double.IsFinite(p.Optimal) && (!log || p.Optimal > 0))
                    optimal.Add(new JsonObject { ["method"] = curve.Method.Label, ["mass"] = p.Mass, ["optimal"] = p.Optimal });
            }
        }
        var x = Field("mass", "quantitative", units.MassLabel);
        JsonObject Y(string field) => new()
        {
            ["field"] = field, ["type"] = "quantitative", ["title"] = units.Label(metric),
            ["scale"] = log ? new JsonObject { ["type"] = "log" } : new JsonObject { ["zero"] = false },
        };
        var color = MethodColor();
        // Trained masses as filled dots, held-out ones as larger hollow rings drawn after them, so a
        // held-out point is never hidden under a trained one at the same place.
        JsonObject Points(string kind, bool filled) => new()
        {
            ["transform"] = new JsonArray(new JsonObject { ["filter"] = $"datum.mass_kind === '{kind}'" }),
            ["mark"] = filled
                ? new JsonObject { ["type"] = "point", ["shape"] = "circle", ["size"] = 45, ["filled"] = true, ["opacity"] = 1 }
                : new JsonObject { ["type"] = "point", ["shape"] = "circle", ["size"] = 110, ["filled"] = false, ["strokeWidth"] = 2.5, ["opacity"] = 1 },
            ["encoding"] = new JsonObject
            {
                ["x"] = x.DeepClone(), ["y"] = Y("mean"), ["color"] = color.DeepClone(),
                ["tooltip"] = new JsonArray(
                    TooltipField("method"), TooltipField("mass"), TooltipField("mass_kind", "point"),
                    TooltipField("mean"), TooltipField("std"), TooltipField("seeds")),
            },
        };
        var layers = new JsonArray
        {
            new JsonObject
            {
                ["mark"] = new JsonObject { ["type"] = "errorband", ["opacity"] = 0.2 },
                ["encoding"] = new JsonObject { ["x"] = x.DeepClone(), ["y"] = Y("lo"), ["y2"] = new JsonObject { ["field"] = "hi" }, ["color"] = color.DeepClone() },
            },
            new JsonObject
            {
                ["mark"] = "line",
                ["encoding"] = new JsonObject { ["x"] = x.DeepClone(), ["y"] = Y("mean"), ["color"] = color.DeepClone() },
            },
            Points(TrainedLabel, filled: true),
            Points(HeldoutLabel, filled: false),
        };
        if (optimal.Count > 0)
        {
            layers.Add(new JsonObject
            {
                ["data"] = new JsonObject { ["values"] = optimal },
                ["mark"] = new JsonObject { ["type"] = "line", ["color"] = "black", ["strokeDash"] = new JsonArray(6, 4) },
                ["encoding"] = new JsonObject { ["x"] = x.DeepClone(), ["y"] = Y("optimal"), ["detail"] = Field("method", "nominal", null) },
            });
        }
        return new JsonObject
        {
            ["width"] = Width, ["height"] = Height,
            ["title"] = $"{metric} vs mass (test, best epoch; band ±1 std over seeds; filled: trained mass, hollow: held-out{(optimal.Count > 0 ? "; dashed: optimal" : "")})",
            ["data"] = new JsonObject { ["values"] = rows },
            ["layer"] = layers,
        };
    }

    /// <summary>Per-epoch curves: the representative trial of each method drawn fully, other trials faintly, phase starts as dashed rules.</summary>
    public static JsonObject TrainingCurve(IReadOnlyList<TrainingCurve> curves, IReadOnlyList<PhaseBoundary> boundaries, string metric)
    {
        var rows = new JsonArray();
        var positive = true;
        foreach (var c in curves)
            foreach (var p in c.Points)
            {
                positive &= p.Value > 0;
                rows.Add(new JsonObject { ["method"] = c.Method.Label, ["trial"] = c.TrialId, ["rep"] = c.Representative, ["epoch"] = p.Epoch, ["value"] = p.Value });
            }
        // Losses of different phases differ by orders of magnitude (BCE ~0.4, Punzi ~10): log when possible.
        var y = new JsonObject
        {
            ["field"] = "value", ["type"] = "quantitative", ["title"] = metric,
            ["scale"] = positive && MetricDirection.HigherIsBetter(metric) is false ? new JsonObject { ["type"] = "log" } : new JsonObject { ["zero"] = false },
        };
        JsonObject Line(bool representative) => new()
        {
            ["transform"] = new JsonArray(new JsonObject { ["filter"] = representative ? "datum.rep" : "!datum.rep" }),
            ["mark"] = new JsonObject { ["type"] = "line", ["opacity"] = representative ? 1.0 : 0.15, ["strokeWidth"] = representative ? 2 : 1 },
            ["encoding"] = new JsonObject
            {
                ["x"] = Field("epoch", "quantitative", "global epoch"), ["y"] = y.DeepClone(),
                ["color"] = MethodColor(), ["detail"] = Field("trial", "nominal", null),
                ["tooltip"] = Tooltip("method", "trial", "epoch", "value"),
            },
        };
        var layers = new JsonArray { Line(false), Line(true) };
        if (boundaries.Count > 0)
        {
            var rules = new JsonArray();
            foreach (var b in boundaries) rules.Add(new JsonObject { ["method"] = b.Method.Label, ["epoch"] = b.Epoch, ["phase"] = b.Phase + 1 });
            layers.Add(new JsonObject
            {
                ["data"] = new JsonObject { ["values"] = rules },
                ["mark"] = new JsonObject { ["type"] = "rule", ["strokeDash"] = new JsonArray(4, 4), ["color"] = "#888" },
                ["encoding"] = new JsonObject { ["x"] = Field("epoch", "quantitative", null), ["tooltip"] = Tooltip("method", "phase", "epoch") },
            });
        }
        return new JsonObject
        {
            ["width"] = Width, ["height"] = Height,
            ["title"] = $"{metric} per epoch (bold: best trial per method; faint: other trials; dashed: phase starts)",
            ["data"] = new JsonObject { ["values"] = rows },
            ["layer"] = layers,
        };
    }

    /// <summary>The ROC at one mass from the score curves: each method's seed-mean curve on a log background-efficiency axis, each seed's working point a diamond.</summary>
    public static JsonObject Roc(IReadOnlyList<MethodScoreCurves> curves, string massLabel)
    {
        var rows = new JsonArray();
        var points = new JsonArray();
        foreach (var c in curves)
        {
            var grid = c.Mean.BackgroundEfficiency;
            for (var i = 0; i < grid.Count; i++)
                if (grid[i] > 0 && double.IsFinite(c.Mean.SignalEfficiency[i]))
                    rows.Add(new JsonObject { ["method"] = c.Method.Label, ["background"] = grid[i], ["signal"] = c.Mean.SignalEfficiency[i] });
            // A working point with no background passing is drawn at the axis' left end (log axis).
            foreach (var (b, sig) in c.WorkingPoints.Where(p => p.Background >= 0))
                points.Add(new JsonObject { ["method"] = c.Method.Label, ["background"] = Math.Max(b, grid.Count > 0 ? grid[0] : 1e-4), ["signal"] = sig });
        }
        var x = new JsonObject { ["field"] = "background", ["type"] = "quantitative", ["title"] = "background efficiency", ["scale"] = new JsonObject { ["type"] = "log" } };
        var y = new JsonObject { ["field"] = "signal", ["type"] = "quantitative", ["title"] = "signal efficiency", ["scale"] = new JsonObject { ["domain"] = new JsonArray(0, 1) } };
        var layers = new JsonArray
        {
            new JsonObject
            {
                ["mark"] = "line",
                ["encoding"] = new JsonObject { ["x"] = x.DeepClone(), ["y"] = y.DeepClone(), ["color"] = MethodColor(), ["tooltip"] = Tooltip("method", "background", "signal") },
            },
        };
        if (points.Count > 0)
        {
            layers.Add(new JsonObject
            {
                ["data"] = new JsonObject { ["values"] = points },
                ["mark"] = new JsonObject { ["type"] = "point", ["shape"] = "diamond", ["filled"] = true, ["size"] = 120, ["opacity"] = 1 },
                ["encoding"] = new JsonObject { ["x"] = x.DeepClone(), ["y"] = y.DeepClone(), ["color"] = MethodColor(), ["tooltip"] = Tooltip("method", "background", "signal") },
            });
        }
        return new JsonObject
        {
            ["width"] = Width, ["height"] = Height,
            ["title"] = $"ROC at {massLabel} (test, kept epoch, mean over seeds; diamonds: each seed's working point, the sigma_min cut chosen on validation)",
            ["data"] = new JsonObject { ["values"] = rows },
            ["layer"] = layers,
        };
    }

    /// <summary>Z = s/sqrt(b) versus the cut at one mass from the score curves (where the cut qualifies for z_best), each method's z_best cut a dotted rule.</summary>
    public static JsonObject SignificanceVersusCut(IReadOnlyList<MethodScoreCurves> curves, string massLabel)
    {
        var rows = new JsonArray();
        var cuts = new JsonArray();
        foreach (var c in curves)
        {
            for (var k = 0; k < c.Mean.Significance.Count; k++)
                if (double.IsFinite(c.Mean.Significance[k]))
                    rows.Add(new JsonObject { ["method"] = c.Method.Label, ["cut"] = c.Mean.Edges[k], ["z"] = c.Mean.Significance[k] });
            if (double.IsFinite(c.Mean.ZCut)) cuts.Add(new JsonObject { ["method"] = c.Method.Label, ["cut"] = c.Mean.ZCut });
        }
        var layers = new JsonArray
        {
            new JsonObject
            {
                ["mark"] = new JsonObject { ["type"] = "line", ["point"] = true },
                ["encoding"] = new JsonObject
                {
                    ["x"] = Field("cut", "quantitative", "cut on the classifier output"), ["y"] = Field("z", "quantitative", "Z = s/√b"),
                    ["color"] = MethodColor(), ["tooltip"] = Tooltip("method", "cut", "z"),
                },
            },
        };
        if (cuts.Count > 0)
        {
            layers.Add(new JsonObject
            {
                ["data"] = new JsonObject { ["values"] = cuts },
                ["mark"] = new JsonObject { ["type"] = "rule", ["strokeDash"] = new JsonArray(2, 3) },
                ["encoding"] = new JsonObject { ["x"] = Field("cut", "quantitative", null), ["color"] = MethodColor(), ["tooltip"] = Tooltip("method", "cut") },
            });
        }
        return new JsonObject
        {
            ["width"] = Width, ["height"] = Height,
            ["title"] = $"Z = s/√b versus the cut at {massLabel} (test, mean over seeds, where the cut qualifies for z_best; dotted: z_best cut chosen on validation)",
            ["data"] = new JsonObject { ["values"] = rows },
            ["layer"] = layers,
        };
    }

    /// <summary>Parallel coordinates over the searched hyperparameters and the headline score, values pre-normalised to [0, 1] per axis.</summary>
    public static JsonObject ParallelCoordinates(SearchSpace space, string scoreTitle, bool higherIsBetter = true)
    {
        const string scoreKey = "score";
        var rows = new JsonArray();
        var scores = space.Points.Select(p => p.Score).Where(double.IsFinite).ToList();
        var (sLo, sHi) = scores.Count == 0 ? (0.0, 0.0) : (scores.Min(), scores.Max());
        var index = 0;
        foreach (var p in space.Points)
        {
            if (!double.IsFinite(p.Score)) continue;
            index++;
            foreach (var axis in space.Axes)
            {
                if (p.Values.GetValueOrDefault(axis.Name) is not { } label) continue;
                rows.Add(new JsonObject { ["index"] = index, ["method"] = p.Method.Label, ["trial"] = p.TrialId, ["key"] = axis.Name, ["norm"] = space.Normalise(axis, label), ["value"] = label, ["score"] = p.Score });
            }
            rows.Add(new JsonObject
            {
                ["index"] = index, ["method"] = p.Method.Label, ["trial"] = p.TrialId, ["key"] = scoreKey, ["score"] = p.Score,
                ["norm"] = sHi > sLo ? (p.Score - sLo) / (sHi - sLo) : 0.5, ["value"] = Format.Value(p.Score),
            });
        }
        var ticks = new JsonArray();
        foreach (var axis in space.Axes)
        {
            if (axis.Numeric)
            {
                var (lo, hi) = space.Range(axis);
                foreach (var f in new[] { 0.0, 0.5, 1.0 })
                {
                    var v = lo + f * (hi - lo);
                    ticks.Add(new JsonObject { ["key"] = axis.Name, ["norm"] = f, ["label"] = Format.Value(axis.LogScale ? Math.Pow(10, v) : v) });
                }
            }
            else
            {
                for (var i = 0; i < axis.Categories.Count; i++)
                    ticks.Add(new JsonObject { ["key"] = axis.Name, ["norm"] = axis.Categories.Count < 2 ? 0.5 : (double)i / (axis.Categories.Count - 1), ["label"] = axis.Categories[i] });
            }
        }
        foreach (var f in new[] { 0.0, 0.5, 1.0 })
            ticks.Add(new JsonObject { ["key"] = scoreKey, ["norm"] = f, ["label"] = Format.Value(sLo + f * (sHi - sLo)) });

        var keys = new JsonArray(space.Axes.Select(a => (JsonNode)JsonValue.Create(a.Name)!).Append(JsonValue.Create(scoreKey)).ToArray());
        JsonObject X() => new() { ["field"] = "key", ["type"] = "nominal", ["sort"] = keys.DeepClone(), ["title"] = null };
        var yNorm = new JsonObject { ["field"] = "norm", ["type"] = "quantitative", ["axis"] = null, ["scale"] = new JsonObject { ["domain"] = new JsonArray(0, 1) } };
        return new JsonObject
        {
            ["width"] = Math.Max(Width, 120 * (space.Axes.Count + 1)), ["height"] = Height,
            ["title"] = $"Search: hyperparameters and {scoreTitle} (one line per trial, coloured by score: bright is better)",
            ["data"] = new JsonObject { ["values"] = rows },
            ["layer"] = new JsonArray
            {
                new JsonObject
                {
                    ["mark"] = new JsonObject { ["type"] = "rule", ["color"] = "#ccc" },
                    ["encoding"] = new JsonObject { ["detail"] = new JsonObject { ["aggregate"] = "count" }, ["x"] = X() },
                },
                new JsonObject
                {
                    ["mark"] = new JsonObject { ["type"] = "line", ["opacity"] = 0.5 },
                    ["encoding"] = new JsonObject
                    {
                        // Coloured by score (bright = good), so good regions of the space stand out.
                        ["x"] = X(), ["y"] = yNorm.DeepClone(),
                        ["color"] = new JsonObject
                        {
                            ["field"] = "score", ["type"] = "quantitative", ["title"] = scoreTitle,
                            ["scale"] = new JsonObject { ["scheme"] = "viridis", ["reverse"] = !higherIsBetter },
                        },
                        ["order"] = new JsonObject { ["field"] = "score", ["type"] = "quantitative", ["sort"] = higherIsBetter ? "ascending" : "descending" },
                        ["detail"] = Field("index", "nominal", null), ["tooltip"] = Tooltip("method", "trial", "key", "value"),
                    },
                },
                new JsonObject
                {
                    ["data"] = new JsonObject { ["values"] = ticks },
                    ["layer"] = new JsonArray
                    {
                        new JsonObject
                        {
                            ["mark"] = new JsonObject { ["type"] = "tick", ["orient"] = "horizontal", ["size"] = 8, ["color"] = "#888" },
                            ["encoding"] = new JsonObject { ["x"] = X(), ["y"] = yNorm.DeepClone() },
                        },
                        new JsonObject
                        {
                            ["mark"] = new JsonObject { ["type"] = "text", ["align"] = "right", ["dx"] = -6, ["baseline"] = "middle", ["fontSize"] = 10 },
                            ["encoding"] = new JsonObject { ["x"] = X(), ["y"] = yNorm.DeepClone(), ["text"] = Field("label", "nominal", null) },
                        },
                    },
                },
            },
            ["config"] = new JsonObject
            {
                ["axisX"] = new JsonObject { ["domain"] = false, ["labelAngle"] = 0, ["tickColor"] = "#ccc" },
                ["view"] = new JsonObject { ["stroke"] = null },
            },
        };
    }

    /// <summary>Headline score against one hyperparameter, one point per trial.</summary>
    public static JsonObject ScoreVersusHyperparameter(SearchSpace space, HyperparameterAxis axis, string scoreTitle)
    {
        var rows = new JsonArray();
        foreach (var p in space.Points)
        {
            if (!double.IsFinite(p.Score) || p.Values.GetValueOrDefault(axis.Name) is not { } label) continue;
            var row = new JsonObject { ["method"] = p.Method.Label, ["trial"] = p.TrialId, ["score"] = p.Score };
            row["x"] = axis.Numeric ? SearchSpaces.Parse(label) : label;
            rows.Add(row);
        }
        var x = axis.Numeric
            ? new JsonObject { ["field"] = "x", ["type"] = "quantitative", ["title"] = axis.Name, ["scale"] = new JsonObject { ["type"] = axis.LogScale ? "log" : "linear", ["zero"] = false } }
            : new JsonObject { ["field"] = "x", ["type"] = "nominal", ["title"] = axis.Name, ["sort"] = new JsonArray(axis.Categories.Select(c => (JsonNode)JsonValue.Create(c)!).ToArray()) };
        return new JsonObject
        {
            ["width"] = Width / 2, ["height"] = Height * 3 / 4,
            ["title"] = $"{scoreTitle} vs {axis.Name}",
            ["data"] = new JsonObject { ["values"] = rows },
            ["mark"] = new JsonObject { ["type"] = "point", ["opacity"] = 0.6 },
            ["encoding"] = new JsonObject
            {
                ["x"] = x, ["y"] = new JsonObject { ["field"] = "score", ["type"] = "quantitative", ["title"] = scoreTitle, ["scale"] = new JsonObject { ["zero"] = false } },
                ["color"] = MethodColor(), ["tooltip"] = Tooltip("method", "trial", "x", "score"),
            },
        };
    }

    /// <summary>Each trial's objective in proposal order (pruned ones marked as such) and the best completed value so far.</summary>
    public static JsonObject OptimisationHistory(IReadOnlyList<SearchTrialValue> values, IReadOnlyList<double> bestSoFar, string metric)
    {
        var rows = new JsonArray();
        for (var i = 0; i < values.Count; i++)
        {
            var row = new JsonObject { ["trial"] = values[i].Order, ["id"] = values[i].Trial.TrialId, ["value"] = values[i].Values[0],
                ["state"] = values[i].Pruned ? "pruned" : "completed" };
            if (double.IsFinite(bestSoFar[i])) row["best"] = bestSoFar[i];
            rows.Add(row);
        }
        var x = new JsonObject { ["field"] = "trial", ["type"] = "quantitative", ["title"] = "trial (proposal order)" };
        return new JsonObject
        {
            ["width"] = Width, ["height"] = Height,
            ["title"] = $"Optimisation history: validation {metric}",
            ["data"] = new JsonObject { ["values"] = rows },
            ["layer"] = new JsonArray(
                new JsonObject
                {
                    ["mark"] = new JsonObject { ["type"] = "point", ["filled"] = true },
                    ["encoding"] = new JsonObject
                    {
                        ["x"] = x.DeepClone(), ["y"] = new JsonObject { ["field"] = "value", ["type"] = "quantitative", ["title"] = metric, ["scale"] = new JsonObject { ["zero"] = false } },
                        ["color"] = Field("state", "nominal", "trial"), ["shape"] = Field("state", "nominal", "trial"), ["tooltip"] = Tooltip("id", "state", "value"),
                    },
                },
                new JsonObject
                {
                    ["mark"] = new JsonObject { ["type"] = "line", ["interpolate"] = "step-after", ["color"] = "black" },
                    ["encoding"] = new JsonObject { ["x"] = x.DeepClone(), ["y"] = new JsonObject { ["field"] = "best", ["type"] = "quantitative" } },
                }),
        };
    }

    /// <summary>Parameter importance (eta squared of the first objective) as bars.</summary>
    public static JsonObject Importance(IReadOnlyList<(string Parameter, double Importance)> importance, string metric)
    {
        var rows = new JsonArray(importance.Select(i => (JsonNode)new JsonObject { ["parameter"] = i.Parameter, ["importance"] = i.Importance }).ToArray());
        return new JsonObject
        {
            ["width"] = Width / 2, ["height"] = Math.Max(60, 24 * importance.Count),
            ["title"] = $"Parameter importance for validation {metric} (share of variance, one-way ANOVA)",
            ["data"] = new JsonObject { ["values"] = rows },
            ["mark"] = "bar",
            ["encoding"] = new JsonObject
            {
                ["y"] = new JsonObject { ["field"] = "parameter", ["type"] = "nominal", ["sort"] = "-x" },
                ["x"] = new JsonObject { ["field"] = "importance", ["type"] = "quantitative", ["scale"] = new JsonObject { ["domain"] = new JsonArray(0, 1) } },
                ["tooltip"] = Tooltip("parameter", "importance"),
            },
        };
    }

    /// <summary>Two objectives of every completed trial, the Pareto front marked.</summary>
    public static JsonObject ParetoFront(IReadOnlyList<SearchTrialValue> values, IReadOnlyList<SearchTrialValue> front, IReadOnlyList<string> objectives)
    {
        var onFront = front.Select(f => f.Trial.TrialId).ToHashSet(StringComparer.Ordinal);
        var rows = new JsonArray(values.Where(v => !v.Pruned).Select(v => (JsonNode)new JsonObject
        {
            ["id"] = v.Trial.TrialId, ["a"] = v.Values[0], ["b"] = v.Values[1], ["front"] = onFront.Contains(v.Trial.TrialId) ? "Pareto front" : "dominated",
        }).ToArray());
        return new JsonObject
        {
            ["width"] = Width / 2, ["height"] = Height * 3 / 4,
            ["title"] = $"Pareto front: validation {objectives[0]} and {objectives[1]}",
            ["data"] = new JsonObject { ["values"] = rows },
            ["mark"] = new JsonObject { ["type"] = "point", ["filled"] = true },
            ["encoding"] = new JsonObject
            {
                ["x"] = new JsonObject { ["field"] = "a", ["type"] = "quantitative", ["title"] = objectives[0], ["scale"] = new JsonObject { ["zero"] = false } },
                ["y"] = new JsonObject { ["field"] = "b", ["type"] = "quantitative", ["title"] = objectives[1], ["scale"] = new JsonObject { ["zero"] = false } },
                ["color"] = Field("front", "nominal", ""), ["tooltip"] = Tooltip("id", "a", "b", "front"),
            },
        };
    }

    public const string TrainedLabel = "trained mass";
    public const string HeldoutLabel = "held-out mass (not trained)";

    /// <summary>
    /// The method colour. Layers sharing it share one legend, whose swatches would otherwise take
    /// the first layer's opacity (a 0.2 error band, a 0.15 faint curve): pinned to full strength.
    /// </summary>
    private static JsonObject MethodColor()
    {
        var color = Field("method", "nominal", "method");
        color["legend"] = new JsonObject { ["symbolOpacity"] = 1, ["symbolStrokeWidth"] = 3 };
        return color;
    }

    private static JsonObject TooltipField(string field, string? title = null)
    {
        var o = new JsonObject { ["field"] = field, ["type"] = "nominal" };
        if (title is not null) o["title"] = title;
        return o;
    }

    private static JsonObject Field(string field, string type, string? title)
    {
        var o = new JsonObject { ["field"] = field, ["type"] = type };
        if (title is not null) o["title"] = title;
        return o;
    }

    private static JsonArray Tooltip(params string[] fields) => new(fields.Select(f => (JsonNode)TooltipField(f)).ToArray());
}
