// SPDX-License-Identifier: MIT
/*
 * One tap queue's reader for the datapath benchmark (bench/datapath.py,
 * issue 14 item 2): a C loop of read(2), so that the reader keeps up with
 * the offered load instead of dropping frames as the Python readers did.
 *
 *	reader QUEUE_FD STOP_FD [CPU]
 *
 * QUEUE_FD is a non-blocking tap queue (inherited), STOP_FD the read end
 * of a pipe: when it reaches end of file the reader drains what is left in
 * the queue and exits.  On standard output, one line:
 *
 *	<frames read> <CPU seconds, user + system> <hash_report of the first>
 *
 * hash_report is the __le16 at offset 16 of struct virtio_net_hdr_v1_hash
 * (include/uapi/linux/virtio_net.h); -1 when nothing was read.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <poll.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <unistd.h>

static double cpu_seconds(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return ru.ru_utime.tv_sec + ru.ru_stime.tv_sec +
	       (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

int main(int argc, char **argv)
{
	static unsigned char buf[65536];
	long long frames = 0;
	int first_report = -1;
	int fd, stop_fd, stopping = 0;
	double cpu0;

	if (argc < 3 || argc > 4) {
		fprintf(stderr, "usage: %s QUEUE_FD STOP_FD [CPU]\n", argv[0]);
		return 2;
	}
	fd = atoi(argv[1]);
	stop_fd = atoi(argv[2]);
	if (argc == 4) {
		cpu_set_t set;

		CPU_ZERO(&set);
		CPU_SET(atoi(argv[3]), &set);
		if (sched_setaffinity(0, sizeof(set), &set)) {
			perror("reader: sched_setaffinity");
			return 1;
		}
	}
	cpu0 = cpu_seconds();
	for (;;) {
		struct pollfd pfd[2] = {
			{ .fd = fd, .events = POLLIN },
			{ .fd = stop_fd, .events = POLLIN },
		};
		ssize_t len = read(fd, buf, sizeof(buf));

		if (len >= 0) {
			if (!frames++ && len >= 18)
				first_report = buf[16] | buf[17] << 8;
			continue;
		}
		if (errno == EINTR)
			continue;
		if (errno != EAGAIN) {
			perror("reader: read");
			return 1;
		}
		if (stopping)
			break;
		if (poll(pfd, 2, -1) < 0 && errno != EINTR) {
			perror("reader: poll");
			return 1;
		}
		if (pfd[1].revents)
			stopping = 1;
	}
	printf("%lld %.6f %d\n", frames, cpu_seconds() - cpu0, first_report);
	return 0;
}
