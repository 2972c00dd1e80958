// Preloaded (node --import) into a Gatehouse started with --cpu-prof.
//
// --cpu-prof only writes its .cpuprofile on a normal exit. A process without a SIGTERM handler is
// killed by the signal and the profile is lost, so make SIGTERM end in process.exit(): at once if
// nothing else handles it, or after a grace period if Gatehouse runs its own graceful shutdown.
process.once('SIGTERM', () => {
  if (process.listenerCount('SIGTERM') === 0) process.exit(0);
  else setTimeout(() => process.exit(0), 5000).unref();
});
