package bench

import (
	"html/template"
	"io"
	"strings"
)

// WriteHTML writes the report as one self-contained HTML page: a summary,
// then per scenario its settings, figures against targets and references,
// checks, notes and plots as inline SVG. It loads nothing from anywhere.
func (rep *Report) WriteHTML(w io.Writer) error {
	return reportPage.Execute(w, rep)
}

var reportPage = template.Must(template.New("report").Funcs(template.FuncMap{
	"fmtv": FormatValue,
	"target": func(f Figure) string {
		if f.Target == nil {
			return ""
		}
		return f.Target.String(f.Unit)
	},
	"status": func(f Figure) string {
		switch {
		case f.Met == nil:
			return ""
		case *f.Met:
			return "met"
		}
		return "missed"
	},
	"ref": func(f Figure) string {
		if f.Ref == nil {
			return ""
		}
		return FormatValue(f.Ref.Value, f.Unit) + " — " + f.Ref.Label
	},
	"svg":  func(p Plot) template.HTML { return template.HTML(SVG(p)) }, // SVG escapes every text it writes
	"secs": func(s Seconds) string { return FormatValue(float64(s), "s") },
	"pct":  func(v float64) string { return FormatValue(v*100, "%") },
	"params": func(ps []Param) string {
		var s []string
		for _, p := range ps {
			s = append(s, p.Name+" "+p.Value)
		}
		return strings.Join(s, ", ")
	},
}).Parse(`<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>Hearsay gossipbench report</title>
<style>
body { font-family: system-ui, sans-serif; margin: 2em auto; max-width: 980px; color: #222; padding: 0 1em; }
h1 { font-size: 1.5em; } h2 { font-size: 1.2em; margin-top: 2.2em; border-bottom: 1px solid #ccc; }
table { border-collapse: collapse; margin: .6em 0; font-size: .92em; }
th, td { padding: .25em .7em; text-align: left; border-bottom: 1px solid #eee; vertical-align: top; }
td.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
.met { color: #1d7a34; } .missed { color: #b3261e; font-weight: bold; }
.pass { color: #1d7a34; } .fail { color: #b3261e; font-weight: bold; }
.meta { color: #555; font-size: .9em; } .note { color: #555; font-size: .9em; font-style: italic; }
figure { margin: 1em 0; }
</style>
</head>
<body>
<h1>Hearsay gossipbench report</h1>
<p class="meta">{{.Command}}<br>
mode {{.Mode}} · started {{.Started.Format "2006-01-02 15:04:05 MST"}} · wall {{secs .Wall}}{{with .Usage}} · CPU {{secs .UserCPU}} user + {{secs .SystemCPU}} system{{end}}{{with .Source}} · commit {{.Short}}{{end}}<br>
{{.Machine}}</p>

<table>
<tr><th>scenario</th><th>N</th><th>checks</th><th>targets</th><th>simulated</th><th>wall</th><th>CPU</th></tr>
{{range .Results}}<tr><td><a href="#{{.Scenario}}">{{.Title}}</a></td><td class="num">{{.N}}</td>
<td>{{if .ChecksOK}}<span class="pass">pass</span>{{else}}<span class="fail">FAIL</span>{{end}}</td>
<td>{{if .TargetsMet}}<span class="met">met</span>{{else}}<span class="missed">missed</span>{{end}}</td>
<td class="num">{{secs .Simulated}}</td><td class="num">{{secs .Wall}}</td><td class="num">{{secs .CPU}}</td></tr>
{{end}}</table>

{{range .Results}}
<h2 id="{{.Scenario}}">{{.Title}} <small>({{.Scenario}})</small></h2>
<p class="meta">{{.Mode}}, N = {{.N}}, seed {{.Seed}}, preset {{.Preset}}, loss {{pct .Loss}}; {{params .Params}}.
{{secs .Simulated}} of cluster time in {{secs .Wall}} ({{secs .CPU}} of CPU).</p>
{{if .Err}}<p class="fail">Stopped early: {{.Err}}</p>{{end}}
<table>
<tr><th>figure</th><th>value</th><th>target</th><th></th><th>reference</th></tr>
{{range .Figures}}<tr><td>{{.Name}}</td><td class="num">{{fmtv .Value .Unit}}</td><td class="num">{{target .}}</td>
<td class="{{status .}}">{{status .}}</td><td>{{ref .}}</td></tr>
{{end}}</table>
<ul>
{{range .Checks}}<li>{{if .OK}}<span class="pass">pass</span>{{else}}<span class="fail">FAIL</span>{{end}} — {{.Name}}: {{.Detail}}</li>
{{end}}</ul>
{{range .Notes}}<p class="note">{{.}}</p>
{{end}}
{{range .Plots}}<figure>{{svg .}}</figure>
{{end}}
{{end}}
</body>
</html>
`))
