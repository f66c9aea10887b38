using System.Reflection;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Studies.Reports.Rendering;

/// <summary>
/// report.html: one self-contained file. The Vega bundles are inlined, the chart specs sit in a
/// JSON script block, and a small script draws them one after another, yielding a frame between
/// charts so the page stays responsive. Any script error or failed chart is written into
/// &lt;pre id="errors"&gt;, so a headless browser's dumped DOM shows it.
/// </summary>
public static class HtmlReport
{
    /// <summary>The bundles in load order: vega-lite needs vega, vega-embed needs both.</summary>
    private static readonly string[] VendorScripts = ["vega.min.js", "vega-lite.min.js", "vega-embed.min.js"];

    private static readonly JsonSerializerOptions SpecJson = new()
    {
        // The default encoder escapes <, > and &, so "</script>" inside a label cannot end the block.
        Encoder = JavaScriptEncoder.Default,
        WriteIndented = false,
    };

    public static string Render(ReportDocument document)
    {
        var html = new StringBuilder(1 << 20);
        html.Append("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>")
            .Append(Enc(document.Title)).Append("</title>\n<style>\n").Append(Style).Append("</style>\n");
        // Error capture first, so even a failure while loading the bundles is shown.
        html.Append("<script>\n").Append(ErrorCapture).Append("</script>\n</head>\n<body>\n");
        html.Append("<pre id=\"errors\"></pre>\n");
        html.Append("<h1>").Append(Enc(document.Title)).Append("</h1>\n<nav><ul>\n");
        for (var i = 0; i < document.Sections.Count; i++)
            html.Append("<li><a href=\"#s").Append(i + 1).Append("\">").Append(Enc(document.Sections[i].Title)).Append("</a></li>\n");
        html.Append("</ul></nav>\n");

        var charts = new JsonArray();
        for (var i = 0; i < document.Sections.Count; i++)
        {
            var section = document.Sections[i];
            html.Append("<section id=\"s").Append(i + 1).Append("\">\n<h2>").Append(Enc(section.Title)).Append("</h2>\n");
            foreach (var block in section.Blocks)
            {
                switch (block)
                {
                    case Paragraph p:
                        html.Append("<p>").Append(Enc(p.Text)).Append("</p>\n");
                        break;
                    case Verbatim v:
                        html.Append("<details><summary>").Append(Enc(v.Summary)).Append("</summary>\n<pre>").Append(Enc(v.Text)).Append("</pre></details>\n");
                        break;
                    case Table t:
                        AppendTable(html, t);
                        break;
                    case FigureLinks f:
                        html.Append("<figure>");
                        if (f.Files.FirstOrDefault(x => x.EndsWith(".png", StringComparison.Ordinal) || x.EndsWith(".svg", StringComparison.Ordinal)) is { } image)
                            html.Append("<img src=\"").Append(Enc(Href(image))).Append("\" alt=\"").Append(Enc(f.Caption)).Append("\" style=\"max-width:100%\">");
                        html.Append("<figcaption>").Append(Enc(f.Caption));
                        foreach (var file in f.Files)
                            html.Append(" <a href=\"").Append(Enc(Href(file))).Append("\">").Append(Enc(Path.GetExtension(file).TrimStart('.'))).Append("</a>");
                        html.Append("</figcaption></figure>\n");
                        break;
                    case Chart c:
                        html.Append("<div class=\"chart\" id=\"").Append(Enc(c.Id)).Append("\" title=\"").Append(Enc(c.Title)).Append("\"></div>\n");
                        charts.Add(new JsonObject { ["id"] = c.Id, ["spec"] = c.Spec.DeepClone() });
                        break;
                    default:
                        throw new InvalidOperationException($"HtmlReport cannot render a {block.GetType().Name}");
                }
            }
            html.Append("</section>\n");
        }

        foreach (var name in VendorScripts)
            html.Append("<script>\n").Append(Vendor(name)).Append("\n</script>\n");
        html.Append("<script type=\"application/json\" id=\"chart-specs\">").Append(charts.ToJsonString(SpecJson)).Append("</script>\n");
        html.Append("<script>\n").Append(DrawCharts).Append("</script>\n</body>\n</html>\n");
        return html.ToString();
    }

    /// <summary>A relative file path as a link target (forward slashes, each part escaped).</summary>
    internal static string Href(string path) => string.Join('/', path.Replace('\\', '/').Split('/').Select(Uri.EscapeDataString));

    private static void AppendTable(StringBuilder html, Table t)
    {
        html.Append("<table>\n<caption>").Append(Enc(t.Caption)).Append("</caption>\n<thead><tr>");
        foreach (var h in t.Header) html.Append("<th>").Append(Enc(h)).Append("</th>");
        html.Append("</tr></thead>\n<tbody>\n");
        foreach (var row in t.Rows)
        {
            html.Append("<tr>");
            foreach (var cell in row)
                html.Append(cell.Best ? "<td class=\"best\">★ " : "<td>").Append(Enc(cell.Text)).Append("</td>");
            html.Append("</tr>\n");
        }
        html.Append("</tbody></table>\n");
    }

    /// <summary>Escapes only what HTML requires; the file is UTF-8, so "±" stays readable in the source.</summary>
    private static string Enc(string s)
    {
        if (s.AsSpan().IndexOfAny("&<>\"'") < 0) return s;
        var b = new StringBuilder(s.Length + 16);
        foreach (var c in s)
            b.Append(c switch { '&' => "&amp;", '<' => "&lt;", '>' => "&gt;", '"' => "&quot;", '\'' => "&#39;", _ => c.ToString() });
        return b.ToString();
    }

    /// <summary>An inlined bundle; "&lt;/script" cannot occur in JavaScript outside strings and regexes, where "&lt;\/" means the same.</summary>
    private static string Vendor(string name)
    {
        var resource = $"vendor/{name}";
        using var stream = Assembly.GetExecutingAssembly().GetManifestResourceStream(resource)
            ?? throw new InvalidOperationException($"embedded resource {resource} is missing from Reports.dll: run Reports/assets/fetch.sh and rebuild");
        using var reader = new StreamReader(stream, Encoding.UTF8);
        return reader.ReadToEnd().Replace("</script", "<\\/script", StringComparison.OrdinalIgnoreCase);
    }

    private const string ErrorCapture = """
        function reportError(text) {
          var pre = document.getElementById('errors');
          if (pre) { pre.textContent += text + '\n'; } else { (window.pendingErrors = window.pendingErrors || []).push(text); }
        }
        window.onerror = function (message, source, line, column) { reportError('error: ' + message + ' (' + source + ':' + line + ':' + column + ')'); };
        window.addEventListener('unhandledrejection', function (e) { reportError('unhandled rejection: ' + (e.reason && e.reason.message || e.reason)); });
        document.addEventListener('DOMContentLoaded', function () { (window.pendingErrors || []).forEach(reportError); });

        """;

    private const string DrawCharts = """
        (async function () {
          // Records when the first chart's SVG appears (milliseconds since navigation), for benchmarks.
          var observer = new MutationObserver(function () {
            if (document.querySelector('.chart svg.marks')) {
              document.body.setAttribute('data-first-chart-ms', String(performance.now()));
              observer.disconnect();
            }
          });
          observer.observe(document.body, { childList: true, subtree: true });
          if (typeof vegaEmbed !== 'function') { reportError('vega-embed did not load'); return; }
          var charts = JSON.parse(document.getElementById('chart-specs').textContent);
          var failed = 0;
          for (var i = 0; i < charts.length; i++) {
            var c = charts[i];
            try {
              // Download as SVG or PNG for a paper or slides (issue 28); no editor links: the report works offline.
              await vegaEmbed('#' + c.id, c.spec, { renderer: 'svg', actions: { export: true, source: false, compiled: false, editor: false } });
            } catch (e) {
              failed++;
              reportError('chart ' + c.id + ': ' + (e && e.message || e));
            }
            // Let the browser draw this chart before building the next. Headless chromium under a
            // virtual-time budget sometimes delivers no animation frame at all, so a short timer
            // stands in for it there; in a visible browser the frame always comes first.
            await Promise.race([
              new Promise(function (r) { requestAnimationFrame(r); }),
              new Promise(function (r) { setTimeout(r, 100); })
            ]);
          }
          document.body.setAttribute('data-charts-done', String(charts.length - failed));
          document.body.setAttribute('data-all-charts-ms', String(performance.now()));
        })().catch(function (e) { reportError('drawing charts: ' + (e && e.message || e)); });

        """;

    private const string Style = """
        body { font-family: system-ui, sans-serif; margin: 1.5em auto; max-width: 1300px; color: #222; }
        h2 { border-bottom: 1px solid #ccc; margin-top: 2em; }
        table { border-collapse: collapse; margin: 1em 0; font-size: 0.9em; }
        caption { text-align: left; font-weight: 600; padding: 0.3em 0; }
        th, td { border: 1px solid #ddd; padding: 0.25em 0.6em; text-align: left; }
        th { background: #f4f4f4; }
        td.best { font-weight: 700; background: #eef7ee; }
        pre { background: #f8f8f8; padding: 0.8em; overflow-x: auto; }
        #errors { color: #b00; background: #fee; white-space: pre-wrap; }
        #errors:empty { display: none; }
        .chart { margin: 1em 0; }
        nav ul { columns: 2; }

        """;
}
