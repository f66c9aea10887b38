using System.Text.Json;
using System.Text.Json.Nodes;
using Studies.Orchestrator.Storage;
using Studies.Reports.Input;
using Studies.Trials.Results;

namespace Studies.Orchestrator.Reporting;

/// <summary>
/// Loads what Reports needs from the store: the study's definition and settings, and every trial of
/// the current definition with its result. Reports never sees the store (it depends on Trials' result
/// types only), so exports and reports read the same records through here.
/// </summary>
public static class StudyRecords
{
    /// <param name="trim">Applied to each trial's result as it is loaded, to keep only what a caller needs (the dashboard keeps what charts use).</param>
    public static async Task<StudyRecord> LoadAsync(IStudyStorage store, StudyRow study, CancellationToken ct, Func<TrialResult, TrialResult>? trim = null)
    {
        var trials = new List<TrialRecord>();
        StudyUnits? units = null;
        var specs = new List<global::Studies.Reports.Analysis.Fairness.PlannedSpec>();
        var provenance = new Dictionary<string, string>();
        foreach (var row in (await store.ListTrialsAsync(study.Id, ct)).Where(t => t.InDefinition).OrderBy(t => t.Ordinal))
        {
            TrialResult? result = row.State is TrialState.Completed or TrialState.Diverged or TrialState.Pruned || row.LastEpoch is > 0
                ? await store.LoadResultAsync(study.Id, row, ct)
                : null;
            if (result is not null && trim is not null) result = trim(result);
            trials.Add(new TrialRecord
            {
                TrialId = row.TrialId,
                State = row.State,
                Attempts = row.Attempts,
                Seconds = row.Seconds ?? 0,
                Device = row.Device ?? "",
                Error = row.Error,
                Axes = row.Axes,
                Result = result,
            });
            if (Spec(row.SpecJson) is { } spec)
            {
                units ??= StudyUnits.FromData(spec.Data);
                specs.Add(new(row.Axes, spec));
            }
            if (provenance.Count == 0 && row.Provenance is { Length: > 0 } p) provenance = Flatten(p);
        }
        var described = Describe(study);
        return described with
        {
            Trials = trials, Provenance = provenance, Units = units ?? StudyUnits.Default,
            SettingDifferences = global::Studies.Reports.Analysis.Fairness.Differences(specs, described.CompareAxes),
        };
    }

    /// <summary>The study's definition and settings (compared axes, headline metric) without its trials.</summary>
    public static StudyRecord Describe(StudyRow study) => new()
    {
        Name = study.Name,
        Description = study.Settings.Description,
        DefinitionText = study.Definition,
        CompareAxes = study.Settings.Compare,
        Headline = study.Settings.Headline ?? MetricNames.SigmaMinBestCut,
        IsSearch = study.Settings.IsSearch,
        SearchObjectives = study.Settings.Objectives,
    };

    /// <summary>The trial's resolved spec; null when it cannot be read (the report then assumes GeV and fb and lists no differing settings).</summary>
    private static global::Studies.Trials.Specs.TrialSpec? Spec(string specJson)
    {
        try
        {
            return global::Studies.Trials.Specs.SpecJson.Deserialize<global::Studies.Trials.Specs.TrialSpec>(specJson);
        }
        catch (Exception e) when (e is JsonException or NotSupportedException or ArgumentException or InvalidOperationException)
        {
            return null;
        }
    }

    /// <summary>The provenance object of a trial (orchestrator and worker parts) as flat "key: value" pairs.</summary>
    private static Dictionary<string, string> Flatten(string json)
    {
        var flat = new Dictionary<string, string>();
        void Walk(JsonNode? node, string prefix)
        {
            switch (node)
            {
                case JsonObject o:
                    foreach (var (key, value) in o) Walk(value, prefix.Length == 0 ? key : $"{prefix}.{key}");
                    break;
                case null:
                    break;
                default:
                    flat[prefix] = node.GetValueKind() == JsonValueKind.String ? node.GetValue<string>() : node.ToJsonString();
                    break;
            }
        }
        try
        {
            Walk(JsonNode.Parse(json), "");
        }
        catch (JsonException)
        {
            flat["provenance"] = json;
        }
        return flat;
    }
}
