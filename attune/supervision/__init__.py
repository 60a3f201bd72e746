"""How `attune up` keeps its processes: started as children that die with it, watched,
restarted with backoff when they end, and stopped in order.

- `children`: spawning a child that dies with the launcher, stopping it, naming its end.
- `restart_policy`: the backoff between restarts and what counts as a crash loop.
- `supervisor`: a part (how it starts, is ready, stops) and the loop that keeps it running.
- `ports`, `stale`, `data_dir_lock`: the checks made before anything starts.
"""
