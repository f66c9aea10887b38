using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using Studies.Orchestrator.Hosting;
using Studies.Orchestrator.Storage;
using Studies.Trials.Results;

// StoreClaimer STORE STUDY OWNER [GO]: claims trials of STUDY until none is claimable, records a one-epoch result for each,
// and prints each claimed trial id on its own line. Used by the storage contract tests as a claimer in another process.
// With GO, it writes ready-OWNER beside GO once its store is open and starts claiming when the file GO exists, so that
// several claimers start together.
if (args.Length is not (3 or 4))
{
    Console.Error.WriteLine("usage: StoreClaimer STORE STUDY OWNER [GO]");
    return 2;
}
var (storeText, studyName, owner) = (args[0], args[1], args[2]);
var go = args.Length == 4 ? args[3] : null;
await using var services = StudiesServices.ForCommand(StudiesServices.Configuration(store: storeText), NullLoggerFactory.Instance);
var stores = services.GetRequiredService<StudyStores>();
await using var store = await stores.OpenAsync(stores.Locate(), StoreAccess.ReadWrite);
var study = await store.FindStudyAsync(studyName) ?? throw new InvalidOperationException($"no study {studyName}");
if (go is not null)
{
    await File.WriteAllTextAsync(Path.Combine(Path.GetDirectoryName(go)!, $"ready-{owner}"), "");
    while (!File.Exists(go)) await Task.Delay(20);
}
while (await store.ClaimNextAsync(study.Id, new TrialClaim(owner, "cpu", TimeSpan.FromMinutes(5))) is { } trial)
{
    var result = new TrialResult
    {
        Outcome = TrialOutcome.Completed,
        Epochs = [new EpochRecord(0, 1, new Dictionary<string, double> { ["loss"] = 0.5 })],
        BestEpoch = 1,
        LastEpoch = 1,
    };
    if (!await store.RecordResultAsync(study.Id, trial.TrialId, owner, TrialState.Completed, result, 0.01, "{}"))
        throw new InvalidOperationException($"{owner} claimed {trial.TrialId} but does not own it");
    Console.WriteLine(trial.TrialId);
    // A trial takes time: without a pause one process can win every lock while the others wait to be scheduled.
    await Task.Delay(2);
}
return 0;
