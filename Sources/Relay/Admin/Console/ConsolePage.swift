extension AdminConsole {
    /// The console's one page: every view is a section the script shows; no inline script or style.
    static let page = #"""
        <!doctype html>
        <html lang="en">
        <head>
        <meta charset="utf-8">
        <meta name="viewport" content="width=device-width, initial-scale=1">
        <title>webhook-relay console</title>
        <link rel="stylesheet" href="/console.css">
        <script src="/console.js" defer></script>
        </head>
        <body>
        <header>
          <h1>webhook-relay</h1>
          <nav id="nav" aria-label="Console" hidden>
            <button type="button" data-view="overview">Overview</button>
            <button type="button" data-view="events">Events</button>
            <button type="button" data-view="buffer">Buffer</button>
            <button type="button" data-view="replay">Replay</button>
            <button type="button" id="sign-out">Sign out</button>
          </nav>
        </header>
        <main>
          <p id="status" role="status"></p>

          <section id="signin" hidden>
            <h2>Sign in</h2>
            <form id="signin-form">
              <label for="token">Admin token (<code>RELAY_ADMIN_TOKEN</code>)</label>
              <input id="token" name="token" type="password" autocomplete="current-password" required>
              <button type="submit">Sign in</button>
            </form>
            <p id="signin-error" class="error" role="alert"></p>
          </section>

          <section id="overview" hidden>
            <h2>Overview</h2>
            <dl id="facts" class="facts"></dl>
            <h3>Requests per second, last 15 minutes</h3>
            <div id="charts" class="charts"></div>
          </section>

          <section id="events" hidden>
            <h2>Events</h2>
            <form id="events-filter" class="filters">
              <label>Source <input name="source" autocomplete="off"></label>
              <label>Event type <input name="event_type" autocomplete="off"></label>
              <label>Status
                <select name="status">
                  <option value="">any</option><option>published</option><option>buffered</option><option>replayed</option>
                </select>
              </label>
              <button type="submit">Filter</button>
            </form>
            <div class="scroll"><table id="events-table">
              <caption>The most recent accepted deliveries, newest first</caption>
              <thead><tr><th scope="col">Received</th><th scope="col">Id (ce_id)</th><th scope="col">Source</th>
                <th scope="col">Event type</th><th scope="col">Where</th><th scope="col"><span class="hidden">Open</span></th></tr></thead>
              <tbody></tbody>
            </table></div>
            <div id="event-detail" class="detail" hidden>
              <h3 id="event-detail-title" tabindex="-1"></h3>
              <p id="event-detail-note"></p>
              <div class="scroll"><table id="event-headers"><caption>Kafka headers</caption><tbody></tbody></table></div>
              <h4>Body</h4>
              <pre id="event-body"></pre>
            </div>
          </section>

          <section id="buffer" hidden>
            <h2>Buffer</h2>
            <p id="buffer-summary"></p>
            <form id="buffer-filter" class="filters">
              <label>State
                <select name="state">
                  <option value="">any</option><option>pending</option><option>dead</option><option>archived</option>
                </select>
              </label>
              <label>Source <input name="source" autocomplete="off"></label>
              <label>Event type <input name="event_type" autocomplete="off"></label>
              <label>Since <input name="since" placeholder="24h or 2024-01-15T10:30:00Z" autocomplete="off"></label>
              <label>Until <input name="until" autocomplete="off"></label>
              <label>Request id <input name="request_id" autocomplete="off"></label>
              <button type="submit">Show</button>
            </form>
            <div class="scroll"><table id="buffer-table">
              <caption>Buffered records</caption>
              <thead><tr><th scope="col">Id</th><th scope="col">State</th><th scope="col">Source</th>
                <th scope="col">Event type</th><th scope="col">Request id</th><th scope="col">Topic</th>
                <th scope="col">Received</th><th scope="col">Attempts</th><th scope="col">Reason</th></tr></thead>
              <tbody></tbody>
            </table></div>
            <button type="button" id="buffer-more" hidden>More</button>
          </section>

          <section id="replay" hidden>
            <h2>Replay</h2>
            <p>Publishes matching records again; they keep their <code>ce_id</code>.</p>
            <form id="replay-filter" class="filters">
              <label>State
                <select name="state" required>
                  <option>dead</option><option>pending</option><option>archived</option>
                </select>
              </label>
              <label>Source <input name="source" autocomplete="off"></label>
              <label>Event type <input name="event_type" autocomplete="off"></label>
              <label>Since <input name="since" placeholder="24h" autocomplete="off"></label>
              <label>Until <input name="until" autocomplete="off"></label>
              <label>Request id <input name="request_id" autocomplete="off"></label>
              <label>To topic (a copy) <input name="topic" autocomplete="off"></label>
              <button type="submit">Count (dry run)</button>
            </form>
            <p id="replay-count" role="status"></p>
            <button type="button" id="replay-confirm" hidden>Replay</button>
            <progress id="replay-progress" max="1" value="0" hidden></progress>
            <p id="replay-result" role="status"></p>
          </section>
        </main>
        </body>
        </html>

        """#
}
