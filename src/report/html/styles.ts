/** The report's own stylesheet (uPlot's comes before it). */
export const REPORT_CSS = `
:root { color-scheme: light; --fg: #1b1b1b; --muted: #5f6368; --line: #e3e5e8; --bg: #f6f7f9;
  --critical: #c00000; --warning: #b35c00; --info: #2f6db3; }
* { box-sizing: border-box; }
body { margin: 0; font: 14px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: var(--fg);
  background: var(--bg); }
code, pre { font-family: ui-monospace, "SFMono-Regular", Menlo, Consolas, "DejaVu Sans Mono", monospace;
  font-size: 12.5px; }
.top { background: #1f2933; color: #fff; padding: 10px 24px; }
.brand { font-weight: 700; letter-spacing: 0.02em; }
.brand-sub { color: #aab4be; }
main { max-width: 1180px; margin: 0 auto; padding: 16px 24px 48px; }
section { background: #fff; border: 1px solid var(--line); border-radius: 8px; padding: 16px 20px;
  margin: 16px 0; }
section[hidden] { display: none; }
h2 { font-size: 16px; margin: 0 0 10px; }
.note { color: var(--muted); margin: 0 0 10px; }
.empty { color: var(--muted); font-style: italic; margin: 4px 0; }
.command { font-size: 15px; overflow-wrap: anywhere; margin-bottom: 4px; }
.command code { font-size: 15px; }
.prompt { color: var(--muted); font-family: ui-monospace, monospace; }
.outcome { margin: 0 0 12px; font-weight: 600; }
.outcome.bad { color: var(--critical); }
.tiles { display: grid; grid-template-columns: repeat(auto-fit, minmax(170px, 1fr)); gap: 10px; }
.tile { border: 1px solid var(--line); border-radius: 6px; padding: 8px 12px; min-width: 0; }
.tile-label { color: var(--muted); font-size: 12px; text-transform: uppercase; letter-spacing: 0.04em; }
.tile-value { font-size: 22px; font-weight: 650; }
.tile-sub { color: var(--muted); font-size: 12px; overflow-wrap: anywhere; }
.tile.warn .tile-value { color: var(--warning); }
.tile.bad .tile-value { color: var(--critical); }
.notice { border: 1px solid #f0c36d; background: #fff8e5; border-radius: 6px; padding: 8px 12px;
  margin-top: 12px; }
.notice ul { margin: 4px 0 0; padding-left: 20px; }
.verdict { border: 1px solid var(--line); border-left: 6px solid var(--critical); border-radius: 6px;
  padding: 10px 14px; margin: 12px 0; background: #fffafa; }
.verdict.healthy { border-left-color: #2e7d32; background: #f6fbf6; }
.verdict .severity { background: var(--critical); }
.verdict.healthy .severity { background: #2e7d32; }
.verdict .message { font-size: 17px; font-weight: 550; }
.finding { border: 1px solid var(--line); border-left: 4px solid var(--info); border-radius: 6px;
  padding: 10px 14px; margin: 10px 0; }
.finding.critical { border-left-color: var(--critical); }
.finding.warning { border-left-color: var(--warning); }
.finding-head { display: flex; gap: 8px; align-items: center; }
.severity { font-size: 11px; font-weight: 700; text-transform: uppercase; color: #fff; background: var(--info);
  border-radius: 3px; padding: 1px 6px; }
.critical .severity { background: var(--critical); }
.warning .severity { background: var(--warning); }
.kind { color: var(--muted); font-family: ui-monospace, monospace; font-size: 12px; }
.show { margin-left: auto; font: inherit; font-size: 12px; border: 1px solid var(--line); background: #fff;
  border-radius: 4px; padding: 2px 8px; cursor: pointer; }
.show:hover { background: var(--bg); }
.message { margin: 6px 0; font-size: 15px; overflow-wrap: anywhere; }
.advice { margin: 4px 0; padding-left: 20px; }
.advice li { overflow-wrap: anywhere; }
.snippets { display: grid; grid-template-columns: repeat(auto-fit, minmax(260px, 1fr)); gap: 8px; margin-top: 8px; }
.snippet-label { font-size: 12px; color: var(--muted); }
pre { margin: 2px 0 0; background: var(--bg); border: 1px solid var(--line); border-radius: 4px; padding: 8px;
  overflow-x: auto; white-space: pre-wrap; overflow-wrap: anywhere; }
table { border-collapse: collapse; width: 100%; margin-top: 8px; }
th, td { text-align: left; padding: 4px 8px; border-bottom: 1px solid var(--line); vertical-align: top; }
th { font-size: 12px; color: var(--muted); font-weight: 600; }
td.num, th.num { text-align: right; white-space: nowrap; font-variant-numeric: tabular-nums; }
td.name { white-space: nowrap; }
td.argv, td.path { overflow-wrap: anywhere; word-break: break-word; width: 60%; }
.table-wrap { max-height: 520px; overflow: auto; }
.chart { width: 100%; min-height: 40px; }
.chart .uplot { width: 100%; }
.u-legend { font-size: 12.5px; text-align: left; margin: 4px 0 0; }
.u-legend .u-series > * { padding: 2px 4px; }
.u-inline tr { margin-right: 10px; }
.u-legend .u-value { font-variant-numeric: tabular-nums; }
.events { list-style: none; padding: 0; margin: 8px 0 0; }
.events li { margin: 2px 0; overflow-wrap: anywhere; }
.mark { display: inline-block; width: 10px; height: 10px; margin-right: 6px; vertical-align: -1px; }
.oom-mark { background: var(--critical); width: 3px; }
.hit-mark { background: #ff7f0e; width: 3px; }
dl.details { display: grid; grid-template-columns: max-content 1fr; gap: 4px 16px; margin: 0; }
dl.details dt { color: var(--muted); }
dl.details dd { margin: 0; overflow-wrap: anywhere; }
`;
