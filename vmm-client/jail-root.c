/* jail-root.c: the read-only roots VMMs pivot into. One per kernel and
 * image (by inode: an image rebuilt under the same name gets a new root,
 * while running VMMs keep the files they started with), prepared once and
 * shared. A root is a small tmpfs holding only what QEMU needs:
 *
 *   /usr              the host's /usr, bound read-only (QEMU, its
 *                     libraries and firmware; nothing secret lives there)
 *   /bin /lib /lib64  symlinks into usr, as on the host
 *   /dev/null, /dev/urandom, and /dev/kvm when KVM is used: bound
 *   /vm/kernel        the guest kernel, bound read-only
 *   /vm/image         the language's image, bound read-only (none for the
 *                     KVM probe)
 *   /proc             empty: each VMM mounts its own pid namespace's proc
 *
 * The cache directory, runnerd's socket and state, other roots and /etc
 * are not in it. The mounts live in runnerd's own mount namespace
 * (jail.c), so nothing on the host sees them and they go with runnerd. */
#include "jail-internal.h"

#include "error-util.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

static int bind_ro(const char *src, const char *dst, bool file)
{
	if (file) {
		int fd = open(dst, O_WRONLY | O_CREAT | O_CLOEXEC, 0444);
		if (fd < 0)
			return -errno;
		close(fd);
	} else if (mkdir(dst, 0755) < 0 && errno != EEXIST)
		return -errno;
	if (mount(src, dst, NULL, MS_BIND, NULL) < 0)
		return -errno;
	/* A bind mount takes the read-only flag only on a remount. Device
	 * nodes keep working: nodev is not set on them. */
	unsigned long dev = strncmp(src, "/dev/", 5) == 0 ? 0 : MS_NODEV;
	if (mount(NULL, dst, NULL, MS_REMOUNT | MS_BIND | MS_RDONLY | MS_NOSUID | dev, NULL) < 0)
		return -errno;
	return 0;
}

static int root_populate(const char *dir, const char *kernel, const char *image, bool kvm)
{
	static const char *const links[][2] = {
	    {"bin", "usr/bin"}, {"lib", "usr/lib"}, {"lib64", "usr/lib64"}, {"sbin", "usr/sbin"}};
	char path[JAIL_PATH_MAX];
	int r;

#define AT(rel) (snprintf(path, sizeof(path), "%s/%s", dir, rel), path)
	for (size_t i = 0; i < sizeof(links) / sizeof(links[0]); i++)
		if (symlink(links[i][1], AT(links[i][0])) < 0)
			return -errno;
	if (mkdir(AT("dev"), 0755) < 0 || mkdir(AT("vm"), 0755) < 0 || mkdir(AT("proc"), 0555) < 0)
		return -errno;
	if ((r = bind_ro("/usr", AT("usr"), false)) < 0 ||
	    (r = bind_ro("/dev/null", AT("dev/null"), true)) < 0 ||
	    (r = bind_ro("/dev/urandom", AT("dev/urandom"), true)) < 0 ||
	    (kvm && (r = bind_ro("/dev/kvm", AT("dev/kvm"), true)) < 0) ||
	    (r = bind_ro(kernel, AT("vm/kernel"), true)) < 0 ||
	    (image && (r = bind_ro(image, AT("vm/image"), true)) < 0))
		return r;
#undef AT
	/* /dev/kvm is opened read-write: its bind mount must not be read-only. */
	if (kvm) {
		snprintf(path, sizeof(path), "%s/dev/kvm", dir);
		if (mount(NULL, path, NULL, MS_REMOUNT | MS_BIND | MS_NOSUID, NULL) < 0)
			return -errno;
	}
	return 0;
}

static bool same_file(const struct stat *a, const struct stat *b)
{
	return a->st_dev == b->st_dev && a->st_ino == b->st_ino && a->st_mtim.tv_sec == b->st_mtim.tv_sec &&
	       a->st_mtim.tv_nsec == b->st_mtim.tv_nsec;
}

int jail_root_get(struct jail *j, const char *kernel, const char *image, bool kvm, const char **ret,
		  char **ret_error)
{
	struct stat k, i = {0};
	struct jail_root *root;
	int r;

	if (stat(kernel, &k) < 0 || (image && stat(image, &i) < 0))
		return err_setf(ret_error, -errno, "jail root: %s or %s: %s", kernel, image ? image : "-",
				strerror(errno));
	TAILQ_FOREACH(root, &j->roots, link)
		if (same_file(&root->kernel, &k) && same_file(&root->image, &i) && root->kvm == kvm) {
			*ret = root->dir;
			return 0;
		}
	root = calloc(1, sizeof(*root));
	if (!root)
		return -ENOMEM;
	snprintf(root->dir, sizeof(root->dir), "%s/root-%u", j->cfg.dir, j->roots_made++);
	if (mkdir(root->dir, 0755) < 0 && errno != EEXIST) {
		r = err_setf(ret_error, -errno, "jail root %s: %s", root->dir, strerror(errno));
		free(root);
		return r;
	}
	if (mount("tmpfs", root->dir, "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, "mode=0755,size=64k") < 0) {
		r = err_setf(ret_error, -errno, "jail root %s: tmpfs: %s", root->dir, strerror(errno));
		rmdir(root->dir);
		free(root);
		return r;
	}
	/* The root must be searchable by the VMM's uid whatever runnerd's own
	 * umask (the unit's is 0077): its entries are made with 022. */
	mode_t old_umask = umask(022);
	r = root_populate(root->dir, kernel, image, kvm);
	umask(old_umask);
	if (r >= 0 &&
	    mount(NULL, root->dir, NULL, MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) < 0)
		r = -errno;
	if (r < 0) {
		r = err_setf(ret_error, r, "jail root %s: %s", root->dir, strerror(-r));
		umount2(root->dir, MNT_DETACH);
		rmdir(root->dir);
		free(root);
		return r;
	}
	root->kernel = k;
	root->image = i;
	root->kvm = kvm;
	TAILQ_INSERT_TAIL(&j->roots, root, link);
	*ret = root->dir;
	return 0;
}

void jail_roots_free(struct jail *j)
{
	struct jail_root *root;

	while ((root = TAILQ_FIRST(&j->roots))) {
		TAILQ_REMOVE(&j->roots, root, link);
		umount2(root->dir, MNT_DETACH);
		rmdir(root->dir);
		free(root);
	}
}
