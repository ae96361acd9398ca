/** Whether a process with this id runs (one we may not signal runs too): tells live temps and locks from abandoned ones. */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}
