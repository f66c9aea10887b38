using System.Security.Cryptography;
using System.Text;
using Studies.Trials.Specs;

namespace Studies.Orchestrator.Studies;

/// <summary>
/// Content hashes that name trials and detect changed definitions. All are the first 16 hex digits
/// (64 bits) of SHA-256 of UTF-8 text: canonical spec JSON for trials and data, the file text for studies.
/// </summary>
public static class TrialIdentity
{
    /// <summary>The trial's id: hash of <see cref="SpecJson.Serialize{T}"/> of the whole spec (keys sorted, so key order in the file does not matter).</summary>
    public static string TrialId(TrialSpec spec) => Hash(SpecJson.Serialize(spec));

    /// <summary>Hash of the data definition alone (source, options, holdout, split, mass scale).</summary>
    public static string DataHash(DataSpec data) => Hash(SpecJson.Serialize(data));

    /// <summary>Hash of a study file's text as written (any edit, even a comment, changes it).</summary>
    public static string DefinitionHash(string studyText) => Hash(studyText);

    public static string Hash(string text) =>
        Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(text)))[..16];
}
