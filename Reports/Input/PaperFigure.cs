namespace Studies.Reports.Input;

/// <summary>
/// One figure as written: its file name without extension, a caption for LaTeX and the reports, and its files (one per
/// format). Input to the report (the figures are drawn before it is composed), so it lives with the report's input.
/// </summary>
public sealed record PaperFigure(string Stem, string Caption, IReadOnlyList<string> Files);
