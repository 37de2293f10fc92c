/** The flame graph's stylesheet, after the report's own (REPORT_CSS) on either page. */
export const FLAME_CSS = `
.flame-join { font-size: 15px; margin: 0 0 12px; padding: 8px 12px; background: #fff8e5;
  border: 1px solid #f0c36d; border-radius: 6px; overflow-wrap: anywhere; }
.flame-controls { display: flex; gap: 10px; align-items: center; flex-wrap: wrap; margin: 4px 0; }
.flame-slider-label { display: flex; gap: 8px; align-items: center; flex: 1 1 320px; color: var(--muted); }
.flame-slider { flex: 1; min-width: 160px; }
.flame-button { font: inherit; font-size: 12px; border: 1px solid var(--line); background: #fff;
  border-radius: 4px; padding: 3px 10px; cursor: pointer; }
.flame-button:hover:not(:disabled) { background: var(--bg); }
.flame-button:disabled { color: #a0a4a8; cursor: default; }
.flame-status { margin: 4px 0 6px; font-weight: 600; overflow-wrap: anywhere; }
.flame-strip { display: block; margin: 0 0 10px; cursor: pointer; }
.flame-frame { position: relative; max-height: 640px; overflow: hidden auto; border: 1px solid var(--line);
  border-radius: 4px; }
.flame-canvas { display: block; }
.flame-tip { position: fixed; z-index: 10; max-width: 460px; pointer-events: none; background: #1f2933;
  color: #fff; border-radius: 4px; padding: 6px 9px; font-size: 12px; line-height: 1.45;
  box-shadow: 0 2px 8px rgba(0, 0, 0, 0.25); overflow-wrap: anywhere; }
.flame-tip[hidden] { display: none; }
.flame-tip-name { font-weight: 700; }
.flame-tip-where { color: #c9d2da; font-family: ui-monospace, monospace; }
.flame-detail { display: flex; flex-wrap: wrap; gap: 4px 12px; align-items: baseline; min-height: 28px;
  margin: 8px 0 0; color: var(--muted); overflow-wrap: anywhere; }
.flame-detail .flame-name { color: var(--fg); }
.flame-detail .flame-figures { color: var(--fg); }
.flame-key { display: flex; gap: 6px 8px; align-items: center; flex-wrap: wrap; margin: 6px 0 0; font-size: 12px; }
.flame-swatch { display: inline-block; width: 12px; height: 12px; border-radius: 2px; }
.flame-swatch.own { background: hsl(28, 85%, 64%); }
.flame-swatch.library { background: hsl(205, 28%, 78%); }
.flame-swatch.process { background: #6b7f73; }
.flame-key-text { margin-right: 10px; }
.flame-notes-head { margin: 6px 0 0; }
.flame-notes { margin: 2px 0 0; padding-left: 20px; color: var(--muted); }
.flame-notes li { overflow-wrap: anywhere; }
`;
