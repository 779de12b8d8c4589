#!/usr/bin/python3
"""A passthrough FUSE filesystem whose fsync takes SECONDS (file and
directory alike), as a busy database server's disk does: a real slow disk
under a daemon's state directory (tests/netns_disk.rs). Everything else is
passed to the backing directory as is. Counts the fsyncs it delayed in
BACKING/../slowfs.count (rewritten after each one).

Usage: slowfs.py BACKING MOUNTPOINT SECONDS (runs in the foreground until
unmounted). Needs Debian's python3-fusepy (fusepy over libfuse2).
"""
import errno, os, sys, time

from fusepy import FUSE, FuseOSError, Operations


class Slow(Operations):
    def __init__(self, root, seconds):
        self.root, self.seconds, self.count = root, seconds, 0
        self.counter = os.path.join(os.path.dirname(root.rstrip("/")), "slowfs.count")

    def _p(self, path):
        return os.path.join(self.root, path.lstrip("/"))

    def _slow(self):
        time.sleep(self.seconds)
        self.count += 1
        with open(self.counter, "w") as f:
            f.write(str(self.count))

    def access(self, path, mode):
        if not os.access(self._p(path), mode):
            raise FuseOSError(errno.EACCES)

    def chmod(self, path, mode):
        return os.chmod(self._p(path), mode)

    def chown(self, path, uid, gid):
        return os.chown(self._p(path), uid, gid)

    def getattr(self, path, fh=None):
        st = os.lstat(self._p(path))
        keys = ("st_atime", "st_ctime", "st_gid", "st_mode", "st_mtime", "st_nlink", "st_size", "st_uid")
        return {k: getattr(st, k) for k in keys}

    def readdir(self, path, fh):
        return [".", ".."] + os.listdir(self._p(path))

    def readlink(self, path):
        return os.readlink(self._p(path))

    def mknod(self, path, mode, dev):
        return os.mknod(self._p(path), mode, dev)

    def rmdir(self, path):
        return os.rmdir(self._p(path))

    def mkdir(self, path, mode):
        return os.mkdir(self._p(path), mode)

    def statfs(self, path):
        st = os.statvfs(self._p(path))
        keys = ("f_bavail", "f_bfree", "f_blocks", "f_bsize", "f_favail", "f_ffree", "f_files",
                "f_flag", "f_frsize", "f_namemax")
        return {k: getattr(st, k) for k in keys}

    def unlink(self, path):
        return os.unlink(self._p(path))

    def symlink(self, name, target):
        return os.symlink(target, self._p(name))

    def rename(self, old, new):
        return os.rename(self._p(old), self._p(new))

    def link(self, target, name):
        return os.link(self._p(name), self._p(target))

    def utimens(self, path, times=None):
        return os.utime(self._p(path), times)

    def open(self, path, flags):
        return os.open(self._p(path), flags)

    def create(self, path, mode, fi=None):
        return os.open(self._p(path), os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)

    def read(self, path, length, offset, fh):
        os.lseek(fh, offset, os.SEEK_SET)
        return os.read(fh, length)

    def write(self, path, buf, offset, fh):
        os.lseek(fh, offset, os.SEEK_SET)
        return os.write(fh, buf)

    def truncate(self, path, length, fh=None):
        with open(self._p(path), "r+") as f:
            f.truncate(length)

    def flush(self, path, fh):
        return 0

    def release(self, path, fh):
        return os.close(fh)

    def fsync(self, path, datasync, fh):
        self._slow()
        return os.fsync(fh)

    def fsyncdir(self, path, datasync, fh):
        self._slow()
        return 0


if __name__ == "__main__":
    backing, mountpoint, seconds = sys.argv[1], sys.argv[2], float(sys.argv[3])
    FUSE(Slow(backing, seconds), mountpoint, foreground=True, nothreads=False)
