"""`auditor watch`: a daemon that judges recordings as they land and alerts once per finding.

The pieces, each with one job:
  settings     what the daemon was asked to do
  settle       holds a changed file back until it is finished being written
  observers    watchdog observers, their known failure modes (watch limit, queue overflow, a
               poller dying), and the supervision that restarts them
  _inotify     the inotify observer that reports what watchdog keeps to itself
  listing      how the observers list folders: O_NOATIME, no links, never onto pseudo filesystems
  examine      examines changed files exactly as a walk would, a directory at a time
  live         judges what the events say changed
  rescan       full rescans with the local source's walker, and reconciling the ledger with the tree
  judge        the engine's judgement, suppressions, and the ledger of open findings
  ledger       decides what alerts: once when a finding opens, once when it resolves
  store        the sqlite state: the open findings and the outbox, committed together
  outbox       hands committed events to each sink's delivery worker; a failure keeps them there
  sinks        where alerts go: events file, command, webhook, system log
  health       how well the tree is watched, and the coverage gaps that follow from it
  status_file  status.json, and the warden's note when the loop is stuck
  state        the state directory's files (and the daemon's own files, never judged) and lock
  report       the periodic report file
  loop         the one thread that judges and keeps the books: supervised, with a warden
  daemon       the coordinator: catch-up scan, live events, periodic rescans, signals
  status       reads the state directory for `auditor status`
"""
