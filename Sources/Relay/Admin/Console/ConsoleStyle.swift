extension AdminConsole {
    /// The console's style: readable from 390 pixels wide up, visible focus, no external fonts.
    static let style = #"""
        :root { color-scheme: light; --ink: #1d2329; --muted: #5a6470; --line: #d5dbe1; --accent: #1b6ac9; }
        * { box-sizing: border-box; }
        body { margin: 0; font: 15px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: var(--ink); background: #f6f8fa; }
        header { display: flex; flex-wrap: wrap; align-items: center; gap: 0.5rem 1.5rem; padding: 0.75rem 1rem; background: #fff; border-bottom: 1px solid var(--line); }
        h1 { font-size: 1.15rem; margin: 0; }
        nav { display: flex; flex-wrap: wrap; gap: 0.25rem; }
        main { padding: 1rem; max-width: 1200px; margin: 0 auto; }
        button { font: inherit; padding: 0.35rem 0.8rem; border: 1px solid var(--line); border-radius: 4px; background: #fff; color: var(--ink); cursor: pointer; }
        button[aria-current="page"] { background: var(--accent); border-color: var(--accent); color: #fff; }
        button:focus-visible, input:focus-visible, select:focus-visible, h3:focus-visible { outline: 3px solid #f2a900; outline-offset: 1px; }
        input, select { font: inherit; padding: 0.3rem 0.45rem; border: 1px solid #aab4be; border-radius: 4px; min-width: 0; }
        label { display: flex; flex-direction: column; gap: 0.15rem; font-size: 0.9rem; color: var(--muted); }
        form { margin: 0.5rem 0 1rem; }
        #signin-form { display: flex; flex-direction: column; gap: 0.6rem; max-width: 26rem; }
        .filters { display: flex; flex-wrap: wrap; gap: 0.6rem; align-items: flex-end; }
        .error { color: #b3261e; }
        .facts { display: grid; grid-template-columns: repeat(auto-fill, minmax(12rem, 1fr)); gap: 0.5rem; margin: 0 0 1rem; }
        .facts > div { background: #fff; border: 1px solid var(--line); border-radius: 6px; padding: 0.4rem 0.6rem; }
        .facts dt { font-size: 0.8rem; color: var(--muted); }
        .facts dd { margin: 0; font-weight: 600; overflow-wrap: anywhere; }
        .charts { display: grid; gap: 1rem; }
        .chart { margin: 0; background: #fff; border: 1px solid var(--line); border-radius: 6px; padding: 0.6rem; }
        .chart svg { width: 100%; height: auto; display: block; }
        .chart .axis { stroke: #8a949e; stroke-width: 1; }
        .chart .label { font-size: 11px; fill: var(--muted); }
        .legend { list-style: none; display: flex; flex-wrap: wrap; gap: 0.3rem 1rem; padding: 0; margin: 0.3rem 0 0; font-size: 0.85rem; }
        .swatch { display: inline-block; width: 0.8rem; height: 0.8rem; border-radius: 2px; margin-right: 0.35rem; vertical-align: -0.1rem; }
        .scroll { overflow-x: auto; }
        table { border-collapse: collapse; width: 100%; background: #fff; font-size: 0.9rem; }
        caption { text-align: left; color: var(--muted); padding: 0.3rem 0; }
        th, td { text-align: left; padding: 0.35rem 0.5rem; border-bottom: 1px solid var(--line); vertical-align: top; overflow-wrap: anywhere; }
        .detail { margin-top: 1rem; }
        pre { background: #0f1720; color: #e6edf3; padding: 0.8rem; border-radius: 6px; overflow: auto; max-height: 28rem; white-space: pre-wrap; overflow-wrap: anywhere; }
        .hidden { position: absolute; width: 1px; height: 1px; overflow: hidden; clip: rect(0 0 0 0); }
        progress { width: 100%; max-width: 26rem; }
        @media (max-width: 600px) {
          main { padding: 0.6rem; }
          .filters label { flex: 1 1 100%; }
          th, td { padding: 0.3rem; }
        }

        """#
}
