// The one mapping from a file-system error code to the words a message prints after the path.

/** "no space left on the device", "read-only file system", … ; undefined for a non-fs error. */
export function fsReason(err: unknown): string | undefined {
  const e = err as { code?: unknown; syscall?: unknown };
  const code = typeof e?.code === 'string' ? e.code : undefined;
  switch (code) {
    case undefined: return undefined;
    case 'ENOENT': return 'no such file or directory';
    case 'EACCES':
    case 'EPERM': return 'permission denied';
    case 'EISDIR': return 'is a directory, expected a file';
    case 'ENOTDIR': return 'a part of the path is not a directory';
    case 'ENOSPC': return 'no space left on the device';
    case 'EDQUOT': return 'disk quota exceeded';
    case 'EROFS': return 'read-only file system';
    case 'EFBIG': return 'file too large for the file system';
    case 'EIO': return 'input/output error (a failing disk or a lost network mount?)';
    case 'ELOOP': return 'too many symbolic links';
    case 'ENAMETOOLONG': return 'the path is too long';
    case 'EEXIST': return 'already exists';
    case 'EMFILE':
    case 'ENFILE': return 'too many open files';
    default: return typeof e.syscall === 'string' ? `${code} (${e.syscall})` : code;
  }
}

/**
 * The words for a file that could not be read as an input: "no such file", "is a directory,
 * expected a weights file"; the rest as fsReason words them. Undefined for a non-fs error.
 */
export function readProblem(err: unknown, expected = 'a file'): string | undefined {
  switch ((err as { code?: unknown })?.code) {
    case 'ENOENT': return 'no such file';
    case 'ENOTDIR': return 'no such file (a part of the path is not a directory)';
    case 'EISDIR': return `is a directory, expected ${expected}`;
    default: return fsReason(err);
  }
}
