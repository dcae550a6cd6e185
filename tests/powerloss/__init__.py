"""Power loss, simulated: what a backup or a restore leaves on the disk if the power
goes at any point, under two models of the file system.

- model.py: the durability model. Recorded effects in, the states a power loss could leave out
  (model a, STRICT: only what an fsync made durable; model b, REORDERED: the namespace in order,
  file data late, lost or cut at any block), and `materialise` to put one on the disk.
- recorder.py: `RecordingOps`, a FileOps that records every effect of a run as the model's ops.
- test_model.py: the model itself, on small hand-written runs.
- test_backup_powerloss.py, test_restore_powerloss.py: every crash point of backup and restore,
  each state materialised and checked (CI samples a fixed subset; AEROOPS_POWERLOSS_FULL=1
  checks every state).
- test_strace.py: a backup and a restore under `strace -f`: every system call that changes the
  output folder or the data directory is one the recorder saw.
"""
