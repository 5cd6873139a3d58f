"""`auditor watch`: a daemon that judges recordings as they land and alerts once per finding.

The pieces, each with one job:
  settings   what the daemon was asked to do
  settle     holds a changed file back until it is finished being written
  observers  watchdog observers, their known failure modes (watch limit, queue overflow, a
             poller dying), and the supervision that restarts them
  _inotify   the inotify observer that reports what watchdog keeps to itself
  examine    examines changed files exactly as a walk would, a directory at a time
  state      the open findings (persisted: a restart does not re-alert) and the status file
  health     how well the tree is watched, and the coverage gaps that follow from it
  sinks      where alerts go: events file, command, webhook, system log
  report     the periodic report file
  daemon     ties them together: catch-up scan, live events, periodic rescans, signals
  status     reads the state directory for `auditor status`
"""
