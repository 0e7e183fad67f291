// SPDX-License-Identifier: GPL-2.0
/*
 * virtio-net RSS and hash reporting of tun/tap: TUNGETVNETHASHCAP,
 * TUNSETVNETHASH and TUNGETVNETHASH, checked packet by packet and read
 * back.
 *
 * Every test runs in a new network namespace with a multiqueue tap
 * (IFF_TAP | IFF_NO_PI | IFF_VNET_HDR | IFF_MULTI_QUEUE). Frames are sent
 * out of the tap with an AF_PACKET socket, so that tun transmits them to
 * its queues, and every queue is read: each frame must arrive exactly once,
 * on the queue that RSS selects, with the hash value and report type of the
 * virtio specification (1.2 and later, "Hash calculation for incoming
 * packets") in its struct virtio_net_hdr_v1_hash, and with its bytes
 * unchanged.
 *
 * The Microsoft RSS verification vectors are checked against their
 * published values, with the Microsoft key. Elsewhere every test configures
 * keys and types of its own, drawn from its name (and TUN_VNET_HASH_SEED
 * when set), and the expected value is the Toeplitz hash, with the key
 * configured, of the fields that the expected report type covers: a kernel
 * that hashed with another key fails. Which report type a packet gets is
 * spelled out per variant, as data, not computed by a second parser. The
 * configuration that must survive a rejected call differs from the
 * rejected one in key, types and table, so that a rejected call that
 * applied part of itself is seen, both in the packets and in what
 * TUNGETVNETHASH reads back.
 *
 * The arguments are size-versioned: every call sets the size member, and
 * the size tests pass the struct of a later version with its unknown
 * members zero or not.
 *
 * On a kernel without the ioctls every test skips.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>

#include <linux/bpf.h>
#include <linux/if.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <linux/if_tun.h>
#include <linux/virtio_net.h>

#ifndef TUNSETVNETHASH

#include "../kselftest.h"

int main(void)
{
	ksft_print_header();
	ksft_exit_skip("%s: %s\n", "linux/if_tun.h lacks TUNSETVNETHASH",
		       "build against a kernel with patches/ applied (make vm-test)");
}

#else

#include "../kselftest_harness.h"

#define NQUEUES		4
#define FRAME_MAX	512
#define HDR_SZ		((int)sizeof(struct virtio_net_hdr_v1_hash))
#define RECV_TIMEOUT_MS	2000
#define NO_REPORT	0xffff	/* hash fields must be left as they were */
#define POISON		0xa5	/* fills buffers: bytes not written stay so */

/*
 * Room for an indirection table in the static buffers of the tests, in
 * entries: the 128 of virtio-net devices and of this kernel. The UAPI has
 * no such constant: the length the kernel accepts is
 * tun_vnet_hash_cap.max_indirection_table_length, read at run time.
 */
#define TABLE_ROOM	128

/* The size of a later struct tun_vnet_hash, one member of 8 bytes longer */
#define NEXT_SIZE	(TUN_VNET_HASH_SIZE_VER0 + 8U)

#define T_IPV4		VIRTIO_NET_RSS_HASH_TYPE_IPv4
#define T_TCPV4		VIRTIO_NET_RSS_HASH_TYPE_TCPv4
#define T_UDPV4		VIRTIO_NET_RSS_HASH_TYPE_UDPv4
#define T_IPV6		VIRTIO_NET_RSS_HASH_TYPE_IPv6
#define T_TCPV6		VIRTIO_NET_RSS_HASH_TYPE_TCPv6
#define T_UDPV6		VIRTIO_NET_RSS_HASH_TYPE_UDPv6
#define T_IP_EX		VIRTIO_NET_RSS_HASH_TYPE_IP_EX
#define T_TCP_EX	VIRTIO_NET_RSS_HASH_TYPE_TCP_EX
#define T_UDP_EX	VIRTIO_NET_RSS_HASH_TYPE_UDP_EX
#define T_ALL		((1U << 9) - 1)

#define R_NONE		VIRTIO_NET_HASH_REPORT_NONE
#define R_IPV4		VIRTIO_NET_HASH_REPORT_IPv4
#define R_TCPV4		VIRTIO_NET_HASH_REPORT_TCPv4
#define R_UDPV4		VIRTIO_NET_HASH_REPORT_UDPv4
#define R_IPV6		VIRTIO_NET_HASH_REPORT_IPv6
#define R_TCPV6		VIRTIO_NET_HASH_REPORT_TCPv6
#define R_UDPV6		VIRTIO_NET_HASH_REPORT_UDPv6
#define R_IPV6_EX	VIRTIO_NET_HASH_REPORT_IPv6_EX
#define R_TCPV6_EX	VIRTIO_NET_HASH_REPORT_TCPv6_EX
#define R_UDPV6_EX	VIRTIO_NET_HASH_REPORT_UDPv6_EX

#define SKIP_NO_FEATURE "kernel lacks TUNGETVNETHASHCAP: boot a kernel built from patches/ (make vm-test)"

/* Microsoft's default key, used by every published vector table */
static const __u8 ms_key[TUN_VNET_HASH_KEY_SIZE] = {
	0x6d, 0x5a, 0x56, 0xda, 0x25, 0x5b, 0x0e, 0xc2,
	0x41, 0x67, 0x25, 0x3d, 0x43, 0xa3, 0x8f, 0xb0,
	0xd0, 0xca, 0x2b, 0xcb, 0xae, 0x7b, 0x30, 0xb4,
	0x77, 0xcb, 0x2d, 0xa3, 0x80, 0x30, 0xf2, 0x0c,
	0x6a, 0x42, 0xb7, 0x3b, 0xbe, 0xac, 0x01, 0xfa,
};

/* "Verifying the RSS Hash Calculation": hash of src, dst (and ports) */
struct ms_vector {
	const char *src, *dst;
	__u16 sport, dport;
	__u32 l3, l4;
};

static const struct ms_vector ms_ipv4[] = {
	{ "66.9.149.187", "161.142.100.80", 2794, 1766,
	  0x323e8fc2, 0x51ccc178 },
	{ "199.92.111.2", "65.69.140.83", 14230, 4739,
	  0xd718262a, 0xc626b0ea },
	{ "24.19.198.95", "12.22.207.184", 12898, 38024,
	  0xd2d0a5de, 0x5c2b394a },
	{ "38.27.205.30", "209.142.163.6", 48228, 2217,
	  0x82989176, 0xafc7327f },
	{ "153.39.163.191", "202.188.127.2", 44251, 1303,
	  0x5d1809c5, 0x10e828a2 },
};

static const struct ms_vector ms_ipv6[] = {
	{ "3ffe:2501:200:1fff::7", "3ffe:2501:200:3::1", 2794, 1766,
	  0x2cc18cd5, 0x40207d3d },
	{ "3ffe:501:8::260:97ff:fe40:efab", "ff02::1", 14230, 4739,
	  0x0f0c461c, 0xdde51bbf },
	{ "3ffe:1900:4545:3:200:f8ff:fe21:67cf", "fe80::200:f8ff:fe21:67cf",
	  44251, 38024, 0x4b61e985, 0x02d1feef },
};

/* The addresses a Mobile IPv6 packet carries outside its extension headers */
#define CARE_OF_ADDR	"2001:db8::c0a"
#define CORRESPONDENT	"2001:db8::1"

/*
 * Per test: the key of rss_config(), the key and types of other_config(),
 * drawn in each FIXTURE_SETUP by draw_config_keys(). Each test runs in a
 * child of its own, so these are the test's.
 */
static __u8 main_key[TUN_VNET_HASH_KEY_SIZE];
static __u8 other_key[TUN_VNET_HASH_KEY_SIZE];
static __u32 other_types;
static __u32 random_state;

/* xorshift32: the draws need no quality, only to differ between tests */
static __u32 next_random(void)
{
	random_state ^= random_state << 13;
	random_state ^= random_state >> 17;
	random_state ^= random_state << 5;

	return random_state;
}

static __u32 fnv1a(__u32 h, const char *s)
{
	for (; *s; s++)
		h = (h ^ (__u8)*s) * 16777619u;

	return h;
}

/*
 * Keys and types for the test @name of @fixture, variant @salt: FNV-1a of
 * the names, mixed with @salt and TUN_VNET_HASH_SEED if set, seeds the
 * draw. other_types always enables IPv4 and IPv6 but lacks one of TCPv4,
 * UDPv4, TCPv6 and UDPv6, so some packet of mixed_packets() gets another
 * report than with all types.
 */
static void draw_config_keys(const char *fixture, const char *name,
			     __u32 salt)
{
	static const __u32 l4[] = { T_TCPV4, T_UDPV4, T_TCPV6, T_UDPV6 };
	const char *seed = getenv("TUN_VNET_HASH_SEED");
	__u32 h = fnv1a(fnv1a(2166136261u, fixture), name) ^ salt * 40503u;
	size_t i;

	if (seed)
		h ^= strtoul(seed, NULL, 0) * 2654435761u;
	random_state = h ? h : 1;
	for (i = 0; i < TUN_VNET_HASH_KEY_SIZE; i++) {
		main_key[i] = next_random() >> 24;
		other_key[i] = next_random() >> 24;
	}
	other_types = (next_random() & T_ALL) | T_IPV4 | T_IPV6;
	other_types &= ~l4[next_random() % ARRAY_SIZE(l4)];
}

/* Toeplitz, bit by bit, as the virtio specification defines it */
static __u32 toeplitz(const __u8 *key, const __u8 *data, size_t len)
{
	__u32 result = 0, window;
	size_t i;
	int b;

	window = (__u32)key[0] << 24 | key[1] << 16 | key[2] << 8 | key[3];
	for (i = 0; i < len; i++) {
		for (b = 7; b >= 0; b--) {
			if (data[i] & (1 << b))
				result ^= window;
			window <<= 1;
			if (i + 4 < TUN_VNET_HASH_KEY_SIZE)
				window |= (key[i + 4] >> b) & 1;
		}
	}

	return result;
}

/* What to build: one frame of a variant, made from one vector */
enum l4 { L4_TCP, L4_UDP, L4_ICMP };
enum frag { FRAG_NONE, FRAG_FIRST, FRAG_LATER };

/* IPv6 extension headers of a packet, a bit mask */
enum ext {
	EXT_HBH = 1,		/* Hop-by-Hop Options, PadN only */
	EXT_DSTOPTS = 2,	/* Destination Options, PadN only */
	EXT_HAO = 4,		/* Destination Options, Home Address */
	EXT_RH2 = 8,		/* Routing header type 2 */
};

struct packet {
	int family;		/* AF_INET, AF_INET6, or AF_UNSPEC: ARP */
	enum l4 l4;
	enum frag frag;
	unsigned int ext;	/* EXT_* (IPv6) */
	__u8 src[16], dst[16];	/* in the fixed IP header */
	__u8 home[16], rh2[16];	/* with EXT_HAO, EXT_RH2 */
	__u16 sport, dport;
};

struct frame {
	__u8 data[FRAME_MAX];
	size_t len;
	__u16 ethertype;
};

static void put(struct frame *f, const void *p, size_t len)
{
	memcpy(f->data + f->len, p, len);
	f->len += len;
}

static void put16(struct frame *f, __u16 v)
{
	v = htons(v);
	put(f, &v, 2);
}

static void put32(struct frame *f, __u32 v)
{
	v = htonl(v);
	put(f, &v, 4);
}

static __u16 ip_checksum(const __u8 *p, size_t len)
{
	__u32 sum = 0;
	size_t i;

	for (i = 0; i + 1 < len; i += 2)
		sum += p[i] << 8 | p[i + 1];
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);

	return ~sum;
}

static const __u8 payload[] = "tun vnet hash selftest payload";

/* The L4 header and a payload; the bytes of a later fragment alike */
static void build_l4(struct frame *f, const struct packet *p)
{
	switch (p->l4) {
	case L4_TCP:
		put16(f, p->sport);
		put16(f, p->dport);
		put32(f, 1);			/* seq */
		put32(f, 0);			/* ack */
		put16(f, 5 << 12 | 0x02);	/* doff 5, SYN */
		put16(f, 65535);		/* window */
		put32(f, 0);			/* checksum, urgent */
		break;
	case L4_UDP:
		put16(f, p->sport);
		put16(f, p->dport);
		put16(f, 8 + sizeof(payload));
		put16(f, 0);
		break;
	case L4_ICMP:
		put(f, p->family == AF_INET ? "\x08\0\0\0" : "\x80\0\0\0", 4);
		put32(f, 1);			/* identifier, sequence */
		break;
	}
	put(f, payload, sizeof(payload));
}

static __u8 l4_proto(const struct packet *p)
{
	if (p->l4 == L4_TCP)
		return IPPROTO_TCP;
	if (p->l4 == L4_UDP)
		return IPPROTO_UDP;

	return p->family == AF_INET ? IPPROTO_ICMP : IPPROTO_ICMPV6;
}

static void build_ipv4(struct frame *f, const struct packet *p)
{
	size_t ip = f->len;
	__u16 frag_off = 0, sum;

	if (p->frag == FRAG_FIRST)
		frag_off = 0x2000;		/* MF */
	else if (p->frag == FRAG_LATER)
		frag_off = 185;			/* offset 1480 bytes, last */

	put(f, "\x45\0", 2);
	put16(f, 0);				/* total length, below */
	put16(f, 0x1234);
	put16(f, frag_off);
	f->data[f->len++] = 64;
	f->data[f->len++] = l4_proto(p);
	put16(f, 0);				/* checksum, below */
	put(f, p->src, 4);
	put(f, p->dst, 4);
	build_l4(f, p);

	f->data[ip + 2] = (f->len - ip) >> 8;
	f->data[ip + 3] = (f->len - ip) & 0xff;
	sum = htons(ip_checksum(f->data + ip, 20));
	memcpy(f->data + ip + 10, &sum, 2);
}

/* Extension headers in the order of RFC 8200 4.1 and RFC 6275 6.3 */
static void build_ipv6(struct frame *f, const struct packet *p)
{
	static const __u8 padn4[] = { 1, 2, 0, 0 };
	static const __u8 padn6[] = { 1, 4, 0, 0, 0, 0 };
	__u8 *next;
	size_t ip = f->len;

	put32(f, 6 << 28);
	put16(f, 0);				/* payload length, below */
	next = &f->data[f->len];
	put(f, "\0\x40", 2);			/* next header, hop limit */
	put(f, p->src, 16);
	put(f, p->dst, 16);

	if (p->ext & EXT_HBH) {
		*next = 0;
		next = &f->data[f->len];
		put(f, "\0\0", 2);
		put(f, padn6, sizeof(padn6));
	}
	if (p->ext & EXT_DSTOPTS) {
		*next = 60;
		next = &f->data[f->len];
		put(f, "\0\0", 2);
		put(f, padn6, sizeof(padn6));
	}
	if (p->ext & EXT_RH2) {
		*next = 43;
		next = &f->data[f->len];
		put(f, "\0\x02\x02\x01", 4);	/* hdrlen 2, type 2, 1 left */
		put32(f, 0);
		put(f, p->rh2, 16);
	}
	if (p->ext & EXT_HAO) {
		*next = 60;
		next = &f->data[f->len];
		put(f, "\0\x02", 2);		/* hdrlen 2: 24 bytes */
		put(f, padn4, sizeof(padn4));	/* the option at 8n + 6 */
		put(f, "\xc9\x10", 2);
		put(f, p->home, 16);
	}
	if (p->frag != FRAG_NONE) {
		*next = 44;
		next = &f->data[f->len];
		put(f, "\0\0", 2);
		put16(f, p->frag == FRAG_FIRST ? 1 : 185 << 3);
		put32(f, 0x1234);
	}
	*next = l4_proto(p);
	build_l4(f, p);

	f->data[ip + 4] = (f->len - ip - 40) >> 8;
	f->data[ip + 5] = (f->len - ip - 40) & 0xff;
}

static void build_arp(struct frame *f, const struct packet *p)
{
	put(f, "\0\x01\x08\0\x06\x04\0\x01", 8);	/* request */
	put(f, "\x02\0\0\0\0\x02", 6);
	put(f, p->src, 4);
	put(f, "\0\0\0\0\0\0", 6);
	put(f, p->dst, 4);
}

static void build_frame(struct frame *f, const struct packet *p)
{
	static const __u8 macs[12] = { 0x02, 0, 0, 0, 0, 0x01,
					  0x02, 0, 0, 0, 0, 0x02 };

	f->len = 0;
	put(f, macs, sizeof(macs));
	if (p->family == AF_INET)
		f->ethertype = ETH_P_IP;
	else if (p->family == AF_INET6)
		f->ethertype = ETH_P_IPV6;
	else
		f->ethertype = ETH_P_ARP;
	put16(f, f->ethertype);

	if (p->family == AF_INET)
		build_ipv4(f, p);
	else if (p->family == AF_INET6)
		build_ipv6(f, p);
	else
		build_arp(f, p);
}

static bool report_is_ex(__u16 report)
{
	return report >= R_IPV6_EX;
}

static bool report_has_ports(__u16 report)
{
	return report != R_IPV4 && report != R_IPV6 && report != R_IPV6_EX;
}

/*
 * The hash the specification defines for @p when its report type is
 * @report, with @key: over the source and destination addresses (for an
 * _EX type the Home Address and the type 2 Routing header address, where
 * present), and the ports for a TCP or UDP type; 0 without a hash.
 */
static __u32 expected_hash(const struct packet *p, __u16 report,
			   const __u8 *key)
{
	size_t alen = p->family == AF_INET ? 4 : 16;
	__u8 in[36];
	size_t n = 0;

	if (report == R_NONE || !key)
		return 0;

	memcpy(in + n, report_is_ex(report) && (p->ext & EXT_HAO) ?
	       p->home : p->src, alen);
	n += alen;
	memcpy(in + n, report_is_ex(report) && (p->ext & EXT_RH2) ?
	       p->rh2 : p->dst, alen);
	n += alen;
	if (report_has_ports(report)) {
		in[n++] = p->sport >> 8;
		in[n++] = p->sport & 0xff;
		in[n++] = p->dport >> 8;
		in[n++] = p->dport & 0xff;
	}

	return toeplitz(key, in, n);
}

/* A TUNSETVNETHASH configuration and what the kernel does with it */
struct hash_config {
	__u16 flags;
	__u32 types;
	__u16 mask;
	__u16 unclassified;
	__u16 table[TABLE_ROOM];
	const __u8 *key;
};

_Static_assert(sizeof(struct tun_vnet_hash) == TUN_VNET_HASH_SIZE_VER0,
	       "struct tun_vnet_hash is the first version");
_Static_assert(sizeof(struct tun_vnet_hash_cap) ==
	       TUN_VNET_HASH_CAP_SIZE_VER0,
	       "struct tun_vnet_hash_cap is the first version");

/* RSS and REPORT over the types given, with a table that uses every queue */
static struct hash_config rss_config(__u32 types)
{
	struct hash_config c = {
		.flags = TUN_VNET_HASH_RSS | TUN_VNET_HASH_REPORT,
		.types = types,
		.mask = 7,
		.unclassified = 6,	/* queue 6 % 4 = 2 */
		.key = main_key,
	};
	int i;

	/* Entries beyond the number of queues are taken modulo it */
	for (i = 0; i <= c.mask; i++)
		c.table[i] = i * 5 + 3;

	return c;
}

/*
 * A TUNSETVNETHASH or TUNGETVNETHASH argument with room for the struct of
 * a later version (NEXT_SIZE) and TABLE_ROOM entries after it
 */
union hash_arg {
	struct tun_vnet_hash h;
	__u8 bytes[NEXT_SIZE + TABLE_ROOM * sizeof(__u16)];
};

/* Entries of the indirection table that @c passes and the kernel keeps */
static size_t config_entries(const struct hash_config *c)
{
	return c->flags & TUN_VNET_HASH_RSS ? c->mask + 1U : 0;
}

/*
 * Fill a TUNSETVNETHASH argument at @buf as a caller built with a struct
 * tun_vnet_hash of @size bytes: the members of the first version, zero up
 * to @size, then with TUN_VNET_HASH_RSS the mask + 1 entries of the
 * indirection table at offset @size. Returns the size of the argument.
 */
static size_t encode_config_size(void *buf, const struct hash_config *c,
				 size_t size)
{
	struct tun_vnet_hash *h = buf;
	size_t entries = config_entries(c);

	memset(buf, 0, size);
	h->size = size;
	h->flags = c->flags;
	h->types = c->types;
	if (c->flags & TUN_VNET_HASH_RSS) {
		h->indirection_table_mask = c->mask;
		h->unclassified_queue = c->unclassified;
	}
	if (c->key)
		memcpy(h->key, c->key, sizeof(h->key));
	memcpy((__u8 *)buf + size, c->table, entries * sizeof(__u16));

	return size + entries * sizeof(__u16);
}

/* The same, as a caller built with the first version */
static size_t encode_config(void *buf, const struct hash_config *c)
{
	return encode_config_size(buf, c, TUN_VNET_HASH_SIZE_VER0);
}

/* An ioctl that takes a pointer to an int: 0, or -errno */
static int int_ioctl(int fd, unsigned long cmd, int value)
{
	return ioctl(fd, cmd, &value) ? -errno : 0;
}

/* TUNSETVNETHASH: 0, or -errno */
static int set_hash(int fd, const struct hash_config *c)
{
	union hash_arg arg;

	encode_config(&arg, c);

	return ioctl(fd, TUNSETVNETHASH, &arg) ? -errno : 0;
}

/* TUNSETVNETHASH with the argument at @buf as it is: 0, or -errno */
static int set_hash_raw(int fd, const void *buf)
{
	return ioctl(fd, TUNSETVNETHASH, buf) ? -errno : 0;
}

/* TUNGETVNETHASHCAP as a caller built with the first version: 0, or -errno */
static int get_cap(int fd, struct tun_vnet_hash_cap *cap)
{
	memset(cap, 0, sizeof(*cap));
	cap->size = sizeof(*cap);

	return ioctl(fd, TUNGETVNETHASHCAP, cap) ? -errno : 0;
}

/*
 * TUNGETVNETHASH into @arg, poisoned first, as a caller built with a
 * struct tun_vnet_hash of @size bytes: 0, or -errno
 */
static int get_hash_size(int fd, union hash_arg *arg, size_t size)
{
	memset(arg, POISON, sizeof(*arg));
	arg->h.size = size;

	return ioctl(fd, TUNGETVNETHASH, arg) ? -errno : 0;
}

/* The offset of the first byte of @p[0 .. @len) that is not @v, or @len */
static size_t first_not(const __u8 *p, size_t len, __u8 v)
{
	size_t i;

	for (i = 0; i < len && p[i] == v; i++)
		;

	return i;
}

/* The tap, its queues in the kernel's order, and the injecting socket */
struct tap {
	char name[IFNAMSIZ];
	int fds[NQUEUES];	/* index = kernel queue number */
	int nqueues;		/* attached */
	int spare[NQUEUES];	/* detached queue fds, still open */
	int nspare;
	int ifindex;
	int sock;
	struct hash_config config;	/* in effect; flags 0: none */
	struct tun_vnet_hash_cap cap;
	int hdr_sz;
	char ctx[64];		/* what is being checked, for failures */
};

static int write_sysctl(const char *path, const char *value)
{
	int fd = open(path, O_WRONLY);
	ssize_t n;

	if (fd < 0)
		return -errno;
	n = write(fd, value, strlen(value));
	close(fd);

	return n < 0 ? -errno : 0;
}

#define QUEUE_FLAGS	(IFF_TAP | IFF_NO_PI | IFF_VNET_HDR | IFF_MULTI_QUEUE)

/* A queue fd of tap @name, attached with TUNSETIFF @flags; -1 with errno */
static int open_queue_flags(const char *name, char *out_name, short flags)
{
	struct ifreq ifr = { 0 };
	int fd, err;

	fd = open("/dev/net/tun", O_RDWR | O_NONBLOCK);
	if (fd < 0)
		return -1;
	ifr.ifr_flags = flags;
	snprintf(ifr.ifr_name, IFNAMSIZ, "%s", name);
	if (ioctl(fd, TUNSETIFF, &ifr)) {
		err = errno;
		close(fd);
		errno = err;
		return -1;
	}
	if (out_name)
		memcpy(out_name, ifr.ifr_name, IFNAMSIZ);

	return fd;
}

static int open_queue(const char *name, char *out_name)
{
	return open_queue_flags(name, out_name, QUEUE_FLAGS);
}

static int link_up(const char *name)
{
	struct ifreq ifr = { 0 };
	int s, ret;

	s = socket(AF_INET, SOCK_DGRAM, 0);
	if (s < 0)
		return -1;
	snprintf(ifr.ifr_name, IFNAMSIZ, "%s", name);
	ret = ioctl(s, SIOCGIFFLAGS, &ifr);
	if (!ret) {
		ifr.ifr_flags |= IFF_UP;
		ret = ioctl(s, SIOCSIFFLAGS, &ifr);
	}
	if (!ret)
		ret = ioctl(s, SIOCGIFINDEX, &ifr);
	close(s);

	return ret ? -1 : ifr.ifr_ifindex;
}

/*
 * 0, with *why set when the kernel lacks the feature, or -1 with errno.
 * The probe needs an attached queue: 6.12 answers an unknown ioctl on an
 * unattached fd with EBADFD, on an attached one with EINVAL.
 */
static int tap_open(struct tap *t, const char **why)
{
	int i, err, sz = HDR_SZ;

	memset(t, 0, sizeof(*t));
	t->sock = -1;
	if (unshare(CLONE_NEWNET))
		return -1;
	/* No router solicitation, DAD or MLD report may reach the queues */
	write_sysctl("/proc/sys/net/ipv6/conf/default/disable_ipv6", "1");
	write_sysctl("/proc/sys/net/ipv6/conf/all/disable_ipv6", "1");

	for (i = 0; i < NQUEUES; i++) {
		t->fds[i] = open_queue(i ? t->name : "vhash%d", t->name);
		if (t->fds[i] < 0)
			return -1;
		t->nqueues++;
	}
	err = get_cap(t->fds[0], &t->cap);
	if (err) {
		if (err != -EINVAL && err != -ENOTTY)
			return -1;
		*why = SKIP_NO_FEATURE;
		return 0;
	}
	if (ioctl(t->fds[0], TUNSETVNETHDRSZ, &sz))
		return -1;
	t->hdr_sz = sz;
	t->ifindex = link_up(t->name);
	if (t->ifindex < 0)
		return -1;
	t->sock = socket(AF_PACKET, SOCK_RAW, 0);

	return t->sock < 0 ? -1 : 0;
}

static void tap_close(struct tap *t)
{
	int i;

	for (i = 0; i < t->nqueues; i++)
		close(t->fds[i]);
	for (i = 0; i < t->nspare; i++)
		close(t->spare[i]);
	if (t->sock >= 0)
		close(t->sock);
}

static int tap_set_hash(struct tap *t, const struct hash_config *c)
{
	int ret = set_hash(t->fds[0], c);

	if (!ret)
		t->config = *c;

	return ret;
}

/*
 * Detach kernel queue @q: the kernel moves its last queue into the hole
 * (__tun_detach()), so the fd order follows.
 */
static int tap_detach(struct tap *t, int q)
{
	struct ifreq ifr = { .ifr_flags = IFF_DETACH_QUEUE };

	if (ioctl(t->fds[q], TUNSETQUEUE, &ifr))
		return -1;
	t->spare[t->nspare++] = t->fds[q];
	t->fds[q] = t->fds[--t->nqueues];

	return 0;
}

/* Reattach the most recently detached queue: it becomes the last one */
static int tap_attach(struct tap *t)
{
	struct ifreq ifr = { .ifr_flags = IFF_ATTACH_QUEUE };
	int fd = t->spare[t->nspare - 1];

	if (ioctl(fd, TUNSETQUEUE, &ifr))
		return -1;
	t->nspare--;
	t->fds[t->nqueues++] = fd;

	return 0;
}

static int send_frame(struct tap *t, const struct frame *f)
{
	struct sockaddr_ll ll = {
		.sll_family = AF_PACKET,
		.sll_ifindex = t->ifindex,
		.sll_protocol = htons(f->ethertype),
		.sll_halen = ETH_ALEN,
	};

	memcpy(ll.sll_addr, f->data, ETH_ALEN);

	return sendto(t->sock, f->data, f->len, 0, (struct sockaddr *)&ll,
		      sizeof(ll)) == (ssize_t)f->len ? 0 : -1;
}

/* A frame as read from a queue: the vnet header, then the frame */
struct received {
	int queue;
	__u8 hdr[64];
	__u8 data[FRAME_MAX];
	ssize_t len;		/* of data */
};

/*
 * Wait for the next frame on any queue and read it with read(), or with
 * readv() into a separate header buffer. The header buffer is poisoned
 * first, so that bytes the kernel does not write can be told apart.
 */
static int receive(struct tap *t, struct received *r, bool use_readv)
{
	struct pollfd pfd[NQUEUES];
	__u8 buf[sizeof(r->hdr) + FRAME_MAX];
	struct iovec iov[2];
	ssize_t n;
	int i;

	for (i = 0; i < t->nqueues; i++)
		pfd[i] = (struct pollfd){ .fd = t->fds[i], .events = POLLIN };
	if (poll(pfd, t->nqueues, RECV_TIMEOUT_MS) <= 0)
		return -1;
	for (i = 0; i < t->nqueues; i++)
		if (pfd[i].revents & POLLIN)
			break;
	if (i == t->nqueues)
		return -1;

	r->queue = i;
	memset(r->hdr, POISON, sizeof(r->hdr));
	if (use_readv) {
		iov[0] = (struct iovec){ r->hdr, t->hdr_sz };
		iov[1] = (struct iovec){ r->data, sizeof(r->data) };
		n = readv(t->fds[i], iov, 2);
	} else {
		memset(buf, POISON, sizeof(buf));
		n = read(t->fds[i], buf, t->hdr_sz + FRAME_MAX);
		if (n >= t->hdr_sz) {
			memcpy(r->hdr, buf, t->hdr_sz);
			memcpy(r->data, buf + t->hdr_sz, n - t->hdr_sz);
		}
	}
	if (n < t->hdr_sz)
		return -1;
	r->len = n - t->hdr_sz;

	return 0;
}

/* Nothing left on any queue: no frame was duplicated or unexpected */
static int queues_empty(struct tap *t)
{
	__u8 buf[FRAME_MAX + 64];
	int i;

	for (i = 0; i < t->nqueues; i++)
		if (read(t->fds[i], buf, sizeof(buf)) >= 0 || errno != EAGAIN)
			return 0;

	return 1;
}

/* The queue RSS selects: virtio spec "Receive-side scaling (RSS)" */
static int rss_queue(const struct hash_config *c, __u16 report,
		     __u32 value, int nqueues)
{
	__u16 q;

	if (report == R_NONE)
		q = c->unclassified;
	else
		q = c->table[value & c->mask];

	return q % nqueues;
}

struct expect {
	__u16 report;	/* NO_REPORT: hash fields not written */
	__u32 value;
	int queue;		/* -1: any */
};

/*
 * The le32 hash value that follows the 12-byte virtio_net_hdr_v1 (virtio
 * spec 5.1.6.4.4): one __le32 hash_value up to 6.16, split into
 * hash_value_lo/hash_value_hi since, so it is read by offset on any base.
 */
static __u32 hdr_hash_value(const struct virtio_net_hdr_v1_hash *h)
{
	__le32 v;

	memcpy(&v, (const __u8 *)h + sizeof(h->hdr), sizeof(v));
	return le32toh(v);
}

_Static_assert(offsetof(struct virtio_net_hdr_v1_hash, hash_report) ==
	       sizeof(struct virtio_net_hdr_v1) + sizeof(__le32),
	       "the hash value is the le32 right after virtio_net_hdr_v1");

/*
 * Send @f and check the one frame that comes back: its queue, its
 * virtio_net_hdr_v1_hash and its bytes.
 */
static void check_frame(struct __test_metadata *_metadata, struct tap *t,
			const struct frame *f, const struct expect *e,
			bool use_readv)
{
	static const __u8 zero[sizeof(struct virtio_net_hdr)];
	struct virtio_net_hdr_v1_hash h;
	struct received r;
	int i;

	ASSERT_EQ(0, send_frame(t, f));
	ASSERT_EQ(0, receive(t, &r, use_readv)) {
		TH_LOG("%s: a %zu-byte frame did not come back", t->ctx,
		       f->len);
	}
	ASSERT_TRUE(queues_empty(t)) {
		TH_LOG("%s: a frame came twice, or an unexpected one", t->ctx);
	}
	memcpy(&h, r.hdr, sizeof(h));

	/* Nothing asks for an offload: the virtio_net_hdr part is 0 */
	EXPECT_EQ(0, memcmp(r.hdr, zero, sizeof(zero)));
	if (e->report == NO_REPORT) {
		/*
		 * No hash, as without TUNSETVNETHASH: zero, as every header
		 * byte tun does not fill ("tun: Pad virtio headers", 6.15),
		 * so that a guest never sees stale memory through vhost.
		 * Past a header shorter than 20 bytes lies the frame.
		 */
		for (i = sizeof(struct virtio_net_hdr);
		     i < HDR_SZ && i < t->hdr_sz; i++)
			EXPECT_EQ(0, r.hdr[i]);
	} else {
		EXPECT_EQ(0, h.hdr.num_buffers);
		EXPECT_EQ(e->report, le16toh(h.hash_report)) {
			TH_LOG("%s: report %u, expected %u", t->ctx,
			       le16toh(h.hash_report), e->report);
		}
		EXPECT_EQ(e->value, hdr_hash_value(&h)) {
			TH_LOG("%s: report %u: hash 0x%08x, expected 0x%08x",
			       t->ctx, e->report, hdr_hash_value(&h),
			       e->value);
		}
		EXPECT_EQ(0, h.padding);
	}
	/* A header larger than 20 bytes: the rest is zero-filled too */
	for (i = HDR_SZ; i < t->hdr_sz; i++)
		EXPECT_EQ(0, r.hdr[i]);
	if (e->queue >= 0) {
		EXPECT_EQ(e->queue, r.queue) {
			TH_LOG("%s: report %u hash 0x%08x", t->ctx, e->report,
			       e->value);
		}
	}
	ASSERT_EQ((ssize_t)f->len, r.len);
	EXPECT_EQ(0, memcmp(f->data, r.data, f->len));
}

/* What the configuration in effect does with @p */
static struct expect expect_for(const struct tap *t, const struct packet *p,
				__u16 report)
{
	const struct hash_config *c = &t->config;
	struct expect e = { .report = NO_REPORT, .queue = -1 };
	__u32 value = expected_hash(p, report, c->key);

	if (c->flags & TUN_VNET_HASH_REPORT && t->hdr_sz >= HDR_SZ) {
		e.report = report;
		e.value = value;
	}
	if (c->flags & TUN_VNET_HASH_RSS)
		e.queue = rss_queue(c, report, value, t->nqueues);
	else if (t->nqueues == 1)
		e.queue = 0;

	return e;
}

static void parse_addr(int family, const char *s, __u8 *out)
{
	if (inet_pton(family, s, out) != 1)
		abort();
}

static struct packet vector_packet(int family, int i, enum l4 l4)
{
	const struct ms_vector *v = family == AF_INET ? &ms_ipv4[i] :
							 &ms_ipv6[i];
	struct packet p = {
		.family = family, .l4 = l4,
		.sport = v->sport, .dport = v->dport,
	};

	parse_addr(family, v->src, p.src);
	parse_addr(family, v->dst, p.dst);

	return p;
}

/*
 * The Microsoft vectors, their published values, with RSS and REPORT: every
 * IPv4 and IPv6 vector as a TCP packet, hashed with ports and without.
 */
FIXTURE(tap)
{
	struct tap t;
};

FIXTURE_SETUP(tap)
{
	const char *why = NULL;

	draw_config_keys(_metadata->fixture->name, _metadata->name, 0);
	ASSERT_EQ(0, tap_open(&self->t, &why));
	if (why)
		SKIP(return, "%s", why);
}

FIXTURE_TEARDOWN(tap)
{
	tap_close(&self->t);
}

static void check_vectors(struct __test_metadata *_metadata, struct tap *t,
			  int family, __u32 types, bool l4)
{
	const struct ms_vector *vecs = family == AF_INET ? ms_ipv4 : ms_ipv6;
	size_t i, n = family == AF_INET ? ARRAY_SIZE(ms_ipv4) :
					  ARRAY_SIZE(ms_ipv6);
	struct hash_config c = rss_config(types);
	struct expect e;
	struct packet p;
	struct frame f;

	c.key = ms_key;		/* the published values are for this key */
	ASSERT_EQ(0, tap_set_hash(t, &c));
	for (i = 0; i < n; i++) {
		p = vector_packet(family, i, L4_TCP);
		build_frame(&f, &p);
		e.value = l4 ? vecs[i].l4 : vecs[i].l3;
		if (family == AF_INET)
			e.report = l4 ? R_TCPV4 : R_IPV4;
		else
			e.report = l4 ? R_TCPV6 : R_IPV6;
		/* The oracle of the other tests: right with this key ... */
		ASSERT_EQ(e.value, expected_hash(&p, e.report, ms_key));
		/* ... and its values follow the key */
		ASSERT_NE(e.value, expected_hash(&p, e.report, main_key));
		e.queue = rss_queue(&c, e.report, e.value, t->nqueues);
		check_frame(_metadata, t, &f, &e, false);
	}
}

TEST_F(tap, microsoft_vectors)
{
	check_vectors(_metadata, &self->t, AF_INET, T_ALL, true);
	check_vectors(_metadata, &self->t, AF_INET, T_IPV4, false);
	check_vectors(_metadata, &self->t, AF_INET6, T_ALL, true);
	check_vectors(_metadata, &self->t, AF_INET6, T_IPV6 | T_UDPV6, false);
}

/*
 * Per packet shape, the report type each hash type gets when it is the only
 * one enabled, and with all nine enabled. The IPv6 types apply to packets
 * without extension headers, the _EX types to packets with them (virtio
 * spec 5.1.6.4.3.1); every fragment gets the L3 type.
 */
FIXTURE(hash)
{
	struct tap t;
};

/* What a variant's packets look like */
struct shape {
	int family;
	enum l4 l4;
	enum frag frag;
	unsigned int ext;
};

FIXTURE_VARIANT(hash)
{
	struct shape shape;
	__u16 alone[9];	/* by type bit: IPv4 .. UDP_EX */
	__u16 all;
};

#define N R_NONE

FIXTURE_VARIANT_ADD(hash, tcp4)
{
	.shape = { .family = AF_INET, .l4 = L4_TCP },
	.alone = { R_IPV4, R_TCPV4, N, N, N, N, N, N, N }, .all = R_TCPV4,
};

FIXTURE_VARIANT_ADD(hash, udp4)
{
	.shape = { .family = AF_INET, .l4 = L4_UDP },
	.alone = { R_IPV4, N, R_UDPV4, N, N, N, N, N, N }, .all = R_UDPV4,
};

FIXTURE_VARIANT_ADD(hash, icmp4)
{
	.shape = { .family = AF_INET, .l4 = L4_ICMP },
	.alone = { R_IPV4, N, N, N, N, N, N, N, N }, .all = R_IPV4,
};

FIXTURE_VARIANT_ADD(hash, tcp4_first_fragment)
{
	.shape = { .family = AF_INET, .l4 = L4_TCP, .frag = FRAG_FIRST },
	.alone = { R_IPV4, N, N, N, N, N, N, N, N }, .all = R_IPV4,
};

FIXTURE_VARIANT_ADD(hash, udp4_later_fragment)
{
	.shape = { .family = AF_INET, .l4 = L4_UDP, .frag = FRAG_LATER },
	.alone = { R_IPV4, N, N, N, N, N, N, N, N }, .all = R_IPV4,
};

FIXTURE_VARIANT_ADD(hash, tcp6)
{
	.shape = { .family = AF_INET6, .l4 = L4_TCP },
	.alone = { N, N, N, R_IPV6, R_TCPV6, N, N, N, N }, .all = R_TCPV6,
};

FIXTURE_VARIANT_ADD(hash, udp6)
{
	.shape = { .family = AF_INET6, .l4 = L4_UDP },
	.alone = { N, N, N, R_IPV6, N, R_UDPV6, N, N, N }, .all = R_UDPV6,
};

FIXTURE_VARIANT_ADD(hash, icmp6)
{
	.shape = { .family = AF_INET6, .l4 = L4_ICMP },
	.alone = { N, N, N, R_IPV6, N, N, N, N, N }, .all = R_IPV6,
};

/* A Fragment header is an extension header: IP_EX applies */
FIXTURE_VARIANT_ADD(hash, tcp6_first_fragment)
{
	.shape = { .family = AF_INET6, .l4 = L4_TCP, .frag = FRAG_FIRST },
	.alone = { N, N, N, R_IPV6, N, N, R_IPV6_EX, N, N }, .all = R_IPV6_EX,
};

FIXTURE_VARIANT_ADD(hash, udp6_later_fragment)
{
	.shape = { .family = AF_INET6, .l4 = L4_UDP, .frag = FRAG_LATER },
	.alone = { N, N, N, R_IPV6, N, N, R_IPV6_EX, N, N }, .all = R_IPV6_EX,
};

FIXTURE_VARIANT_ADD(hash, tcp6_home_address)
{
	.shape = { .family = AF_INET6, .l4 = L4_TCP, .ext = EXT_HAO },
	.alone = { N, N, N, R_IPV6, R_TCPV6, N, R_IPV6_EX, R_TCPV6_EX, N },
	.all = R_TCPV6_EX,
};

FIXTURE_VARIANT_ADD(hash, tcp6_routing_type2)
{
	.shape = { .family = AF_INET6, .l4 = L4_TCP, .ext = EXT_RH2 },
	.alone = { N, N, N, R_IPV6, R_TCPV6, N, R_IPV6_EX, R_TCPV6_EX, N },
	.all = R_TCPV6_EX,
};

FIXTURE_VARIANT_ADD(hash, tcp6_home_and_routing)
{
	.shape = { .family = AF_INET6, .l4 = L4_TCP, .ext = EXT_HAO | EXT_RH2 },
	.alone = { N, N, N, R_IPV6, R_TCPV6, N, R_IPV6_EX, R_TCPV6_EX, N },
	.all = R_TCPV6_EX,
};

FIXTURE_VARIANT_ADD(hash, udp6_home_and_routing)
{
	.shape = {
		.family = AF_INET6,
		.l4 = L4_UDP,
		.ext = EXT_HBH | EXT_HAO | EXT_RH2,
	},
	.alone = { N, N, N, R_IPV6, N, R_UDPV6, R_IPV6_EX, N, R_UDPV6_EX },
	.all = R_UDPV6_EX,
};

FIXTURE_VARIANT_ADD(hash, icmp6_home_and_routing)
{
	.shape = {
		.family = AF_INET6,
		.l4 = L4_ICMP,
		.ext = EXT_HAO | EXT_RH2,
	},
	.alone = { N, N, N, R_IPV6, N, N, R_IPV6_EX, N, N }, .all = R_IPV6_EX,
};

/* Extension headers without a home address or routing header type 2 */
FIXTURE_VARIANT_ADD(hash, tcp6_other_extensions)
{
	.shape = {
		.family = AF_INET6,
		.l4 = L4_TCP,
		.ext = EXT_HBH | EXT_DSTOPTS,
	},
	.alone = { N, N, N, R_IPV6, R_TCPV6, N, R_IPV6_EX, R_TCPV6_EX, N },
	.all = R_TCPV6_EX,
};

FIXTURE_VARIANT_ADD(hash, tcp6_home_address_fragment)
{
	.shape = {
		.family = AF_INET6,
		.l4 = L4_TCP,
		.ext = EXT_HAO,
		.frag = FRAG_FIRST,
	},
	.alone = { N, N, N, R_IPV6, N, N, R_IPV6_EX, N, N }, .all = R_IPV6_EX,
};

FIXTURE_VARIANT_ADD(hash, arp)
{
	.shape = { .family = AF_UNSPEC },
	.alone = { N, N, N, N, N, N, N, N, N }, .all = N,
};

#undef N

FIXTURE_SETUP(hash)
{
	const struct shape *v = &variant->shape;
	const char *why = NULL;

	draw_config_keys(_metadata->fixture->name, _metadata->name,
			 v->family << 12 | v->l4 << 8 | v->frag << 4 | v->ext);
	ASSERT_EQ(0, tap_open(&self->t, &why));
	if (why)
		SKIP(return, "%s", why);
}

FIXTURE_TEARDOWN(hash)
{
	tap_close(&self->t);
}

/*
 * The variant's packets, one per vector of its family. With an extension
 * header that carries an address, the vector's address moves there and the
 * fixed header carries a Mobile IPv6 care-of or correspondent address.
 */
static int shape_packets(const struct shape *v, struct packet *out)
{
	int i, n;

	if (v->family == AF_UNSPEC) {
		out[0] = vector_packet(AF_INET, 0, L4_TCP);
		out[0].family = AF_UNSPEC;
		return 1;
	}
	n = v->family == AF_INET ? ARRAY_SIZE(ms_ipv4) : ARRAY_SIZE(ms_ipv6);
	for (i = 0; i < n; i++) {
		out[i] = vector_packet(v->family, i, v->l4);
		out[i].frag = v->frag;
		out[i].ext = v->ext;
		if (v->ext & EXT_HAO) {
			memcpy(out[i].home, out[i].src, 16);
			parse_addr(AF_INET6, CARE_OF_ADDR, out[i].src);
		}
		if (v->ext & EXT_RH2) {
			memcpy(out[i].rh2, out[i].dst, 16);
			parse_addr(AF_INET6, CORRESPONDENT, out[i].dst);
		}
	}

	return n;
}

static void check_packets(struct __test_metadata *_metadata, struct tap *t,
			  const struct packet *pkts, int n, __u16 report,
			  bool use_readv)
{
	struct expect e;
	struct frame f;
	int i;

	for (i = 0; i < n; i++) {
		build_frame(&f, &pkts[i]);
		e = expect_for(t, &pkts[i], report);
		check_frame(_metadata, t, &f, &e, use_readv);
	}
}

/* Each hash type alone, then all of them, with RSS and REPORT */
TEST_F(hash, types)
{
	struct packet pkts[ARRAY_SIZE(ms_ipv4)];
	struct hash_config c;
	int n = shape_packets(&variant->shape, pkts);
	int bit;

	for (bit = 0; bit < 9; bit++) {
		c = rss_config(1U << bit);
		ASSERT_EQ(0, tap_set_hash(&self->t, &c));
		snprintf(self->t.ctx, sizeof(self->t.ctx), "types 0x%x",
			 c.types);
		check_packets(_metadata, &self->t, pkts, n,
			      variant->alone[bit], false);
	}
	c = rss_config(T_ALL);
	ASSERT_EQ(0, tap_set_hash(&self->t, &c));
	snprintf(self->t.ctx, sizeof(self->t.ctx), "all types");
	check_packets(_metadata, &self->t, pkts, n, variant->all, false);
}

/* REPORT without RSS: the queue is automq's, the hash is reported */
TEST_F(hash, report_without_rss)
{
	struct hash_config c = { .flags = TUN_VNET_HASH_REPORT,
				 .types = T_ALL, .key = main_key };
	struct packet pkts[ARRAY_SIZE(ms_ipv4)];
	int n = shape_packets(&variant->shape, pkts);

	ASSERT_EQ(0, tap_set_hash(&self->t, &c));
	check_packets(_metadata, &self->t, pkts, n, variant->all, false);
}

/* RSS without REPORT: steered by the hash, hash fields not written */
TEST_F(hash, rss_without_report)
{
	struct hash_config c = rss_config(T_ALL);
	struct packet pkts[ARRAY_SIZE(ms_ipv4)];
	int n = shape_packets(&variant->shape, pkts);

	c.flags = TUN_VNET_HASH_RSS;
	ASSERT_EQ(0, tap_set_hash(&self->t, &c));
	check_packets(_metadata, &self->t, pkts, n, variant->all, false);
}

/* The readv() path, with the header in a buffer of its own */
TEST_F(hash, readv)
{
	struct hash_config c = rss_config(T_ALL);
	struct packet pkts[ARRAY_SIZE(ms_ipv4)];
	int n = shape_packets(&variant->shape, pkts);

	ASSERT_EQ(0, tap_set_hash(&self->t, &c));
	check_packets(_metadata, &self->t, pkts, n, variant->all, true);
}

/* A few IPv4 and IPv6 packets of every kind, for the tests below */
static int mixed_packets(struct packet *out)
{
	int n = 0, i;

	for (i = 0; i < (int)ARRAY_SIZE(ms_ipv4); i++)
		out[n++] = vector_packet(AF_INET, i, i % 3);
	for (i = 0; i < (int)ARRAY_SIZE(ms_ipv6); i++)
		out[n++] = vector_packet(AF_INET6, i, i % 3);
	out[n] = vector_packet(AF_INET, 0, L4_TCP);
	out[n++].family = AF_UNSPEC;

	return n;
}

/*
 * The report type that @types gives a packet of mixed_packets(), none of
 * which is a fragment or has extension headers: virtio spec 5.1.6.4.3.2
 * "IPv4 packets" and 5.1.6.4.3.3 "IPv6 packets without extension header",
 * TCP, else UDP, else the L3 type, else no hash.
 */
static __u16 mixed_report(const struct packet *p, __u32 types)
{
	bool v4 = p->family == AF_INET;

	if (p->family != AF_INET && p->family != AF_INET6)
		return R_NONE;
	if (p->l4 == L4_TCP && types & (v4 ? T_TCPV4 : T_TCPV6))
		return v4 ? R_TCPV4 : R_TCPV6;
	if (p->l4 == L4_UDP && types & (v4 ? T_UDPV4 : T_UDPV6))
		return v4 ? R_UDPV4 : R_UDPV6;
	if (types & (v4 ? T_IPV4 : T_IPV6))
		return v4 ? R_IPV4 : R_IPV6;

	return R_NONE;
}

/*
 * The configuration in effect, as observed on the mixed packets; @queue,
 * unless -1, is where a steering program puts them.
 */
static void check_steering(struct __test_metadata *_metadata, struct tap *t,
			   int queue)
{
	struct packet pkts[16];
	struct frame f;
	struct expect e;
	int i, n = mixed_packets(pkts);

	for (i = 0; i < n; i++) {
		build_frame(&f, &pkts[i]);
		e = expect_for(t, &pkts[i],
			       mixed_report(&pkts[i], t->config.types));
		if (queue >= 0)
			e.queue = queue;
		check_frame(_metadata, t, &f, &e, false);
	}
}

/*
 * What TUNGETVNETHASH reads back on @fd, as a caller built with a struct
 * tun_vnet_hash of @size bytes: @c as TUNSETVNETHASH took it (all zero
 * for flags 0), the kernel's size, zero up to @size, with RSS the mask + 1
 * entries of the table at offset @size, and nothing written after them.
 */
static void check_get_size(struct __test_metadata *_metadata, int fd,
			   const struct hash_config *c, size_t size)
{
	static const __u8 zero_key[TUN_VNET_HASH_KEY_SIZE];
	size_t entries = config_entries(c), end, i;
	union hash_arg arg;
	__u16 entry;

	ASSERT_LE(size, NEXT_SIZE);
	ASSERT_EQ(0, get_hash_size(fd, &arg, size));
	EXPECT_EQ(sizeof(arg.h), arg.h.size);	/* the kernel's */
	EXPECT_EQ(c->flags, arg.h.flags);
	EXPECT_EQ(c->types, arg.h.types);
	EXPECT_EQ(entries ? c->mask : 0, arg.h.indirection_table_mask);
	EXPECT_EQ(entries ? c->unclassified : 0, arg.h.unclassified_queue);
	EXPECT_EQ(0, arg.h.pad[0]);
	EXPECT_EQ(0, arg.h.pad[1]);
	EXPECT_EQ(0, memcmp(c->key ? c->key : zero_key, arg.h.key,
			    sizeof(arg.h.key)));
	EXPECT_EQ(size, sizeof(arg.h) +
		  first_not(arg.bytes + sizeof(arg.h), size - sizeof(arg.h), 0));
	for (i = 0; i < entries; i++) {
		memcpy(&entry, arg.bytes + size + i * sizeof(entry),
		       sizeof(entry));
		EXPECT_EQ(c->table[i], entry) {
			TH_LOG("indirection_table[%zu]", i);
		}
	}
	end = size + entries * sizeof(entry);
	EXPECT_EQ(sizeof(arg), end +
		  first_not(arg.bytes + end, sizeof(arg) - end, POISON));
}

static void check_get(struct __test_metadata *_metadata, int fd,
		      const struct hash_config *c)
{
	check_get_size(_metadata, fd, c, TUN_VNET_HASH_SIZE_VER0);
}

/* The configuration in effect: in the packets, and as read back */
static void check_config(struct __test_metadata *_metadata, struct tap *t)
{
	check_steering(_metadata, t, -1);
	check_get(_metadata, t->fds[0], &t->config);
}

/*
 * A second configuration whose key, types and table differ from
 * rss_config(T_ALL)'s: the one that must survive the rejected calls.
 */
static struct hash_config other_config(void)
{
	struct hash_config c = rss_config(other_types);
	int i;

	c.key = other_key;
	c.mask = 3;
	c.unclassified = 1;
	for (i = 0; i <= c.mask; i++)
		c.table[i] = 3 - i;

	return c;
}

TEST_F(tap, reconfigure_and_disable)
{
	struct hash_config c = other_config();

	ASSERT_EQ(0, tap_set_hash(&self->t, &c));
	check_config(_metadata, &self->t);
	c = rss_config(T_ALL);
	ASSERT_EQ(0, tap_set_hash(&self->t, &c));
	check_config(_metadata, &self->t);

	/* flags 0: back to automq, header as without TUNSETVNETHASH */
	c = (struct hash_config){ 0 };
	ASSERT_EQ(0, tap_set_hash(&self->t, &c));
	check_config(_metadata, &self->t);
}

/* A header larger than 20 bytes: the hash is in its first 20 */
TEST_F(tap, larger_header)
{
	struct hash_config c = other_config();
	int sz = 32;

	ASSERT_EQ(0, ioctl(self->t.fds[0], TUNSETVNETHDRSZ, &sz));
	self->t.hdr_sz = sz;
	ASSERT_EQ(0, tap_set_hash(&self->t, &c));
	check_config(_metadata, &self->t);
}

/*
 * Queue numbers are taken modulo the queues attached when a packet is sent;
 * with one queue left the core does not call ndo_select_queue, and the hash
 * is still reported.
 */
TEST_F(tap, detach_and_attach_queues)
{
	struct hash_config c = rss_config(T_ALL);

	ASSERT_EQ(0, tap_set_hash(&self->t, &c));
	ASSERT_EQ(0, tap_detach(&self->t, 1));
	check_config(_metadata, &self->t);
	ASSERT_EQ(0, tap_detach(&self->t, 0));
	ASSERT_EQ(0, tap_detach(&self->t, 1));
	ASSERT_EQ(1, self->t.nqueues);
	check_config(_metadata, &self->t);
	ASSERT_EQ(0, tap_attach(&self->t));
	ASSERT_EQ(0, tap_attach(&self->t));
	check_config(_metadata, &self->t);
}

/*
 * The poisoned buffer: TUNGETVNETHASHCAP writes the 16 bytes of its struct
 * and no kernel bytes. A caller built with a later, longer struct gets
 * what this kernel does not know zeroed, up to its size and not beyond.
 */
TEST_F(tap, capabilities_leak_nothing)
{
	static const __u32 sizes[] = { TUN_VNET_HASH_CAP_SIZE_VER0, 24, 64 };
	struct tun_vnet_hash_cap cap;
	__u8 buf[128];
	__u32 size;
	size_t i;

	for (i = 0; i < ARRAY_SIZE(sizes); i++) {
		size = sizes[i];
		memset(buf, POISON, sizeof(buf));
		memcpy(buf, &size, sizeof(size));
		ASSERT_EQ(0, ioctl(self->t.fds[0], TUNGETVNETHASHCAP, buf));
		memcpy(&cap, buf, sizeof(cap));
		EXPECT_EQ(sizeof(cap), cap.size);	/* the kernel's */
		EXPECT_EQ(TUN_VNET_HASH_RSS | TUN_VNET_HASH_REPORT, cap.flags);
		EXPECT_EQ(T_ALL, cap.types);
		/* A power of two, room for rss_config()'s 8 entries */
		EXPECT_LE(8, cap.max_indirection_table_length);
		EXPECT_EQ(0, cap.max_indirection_table_length &
			     (cap.max_indirection_table_length - 1));
		EXPECT_EQ(TUN_VNET_HASH_KEY_SIZE, cap.key_size);
		EXPECT_EQ(0, cap.reserved[0]);
		EXPECT_EQ(0, cap.reserved[1]);
		EXPECT_EQ(size, sizeof(cap) +
			  first_not(buf + sizeof(cap), size - sizeof(cap), 0)) {
			TH_LOG("size %u: a byte past the struct not zeroed",
			       size);
		}
		EXPECT_EQ(sizeof(buf), size +
			  first_not(buf + size, sizeof(buf) - size, POISON)) {
			TH_LOG("size %u: a byte past the size written", size);
		}
	}
}

/* TUNGETVNETHASHCAP with the size member set to @size: 0, or -errno */
static int get_cap_size(int fd, __u8 *buf, __u32 size)
{
	memcpy(buf, &size, sizeof(size));

	return ioctl(fd, TUNGETVNETHASHCAP, buf) ? -errno : 0;
}

/*
 * A size below the first version's is EINVAL, one above a page E2BIG, and
 * neither writes anything; a page is the largest size accepted.
 */
TEST_F(tap, capabilities_size_out_of_range)
{
	size_t page = sysconf(_SC_PAGESIZE), len = page + 64;
	int fd = self->t.fds[0];
	__u8 *buf;

	buf = malloc(len);
	ASSERT_NE(NULL, buf);

	memset(buf, POISON, len);
	EXPECT_EQ(-EINVAL, get_cap_size(fd, buf, 0));
	EXPECT_EQ(-EINVAL, get_cap_size(fd, buf,
					TUN_VNET_HASH_CAP_SIZE_VER0 - 1));
	EXPECT_EQ(-E2BIG, get_cap_size(fd, buf, page + 1));
	EXPECT_EQ(-E2BIG, get_cap_size(fd, buf, UINT32_MAX));
	EXPECT_EQ(len - 4, first_not(buf + 4, len - 4, POISON));

	EXPECT_EQ(0, get_cap_size(fd, buf, page));
	EXPECT_EQ(0, memcmp(buf, &self->t.cap, sizeof(self->t.cap)));
	EXPECT_EQ(page - sizeof(self->t.cap),
		  first_not(buf + sizeof(self->t.cap),
			    page - sizeof(self->t.cap), 0));
	EXPECT_EQ(len - page, first_not(buf + page, len - page, POISON));
	free(buf);
}

/*
 * TUNGETVNETHASH reads back what TUNSETVNETHASH took, whatever file of
 * the device asks: all zero before the first call, RSS alone, REPORT
 * alone, both with the longest table and queue numbers beyond the queues
 * attached, and all zero again after flags 0.
 */
TEST_F(tap, get_round_trip)
{
	struct tap *t = &self->t;
	struct hash_config c;
	int i, q;

	check_config(_metadata, t);

	c = other_config();
	c.flags = TUN_VNET_HASH_RSS;
	ASSERT_EQ(0, tap_set_hash(t, &c));
	check_config(_metadata, t);

	c = (struct hash_config){ .flags = TUN_VNET_HASH_REPORT,
				  .types = other_types, .key = other_key };
	ASSERT_EQ(0, tap_set_hash(t, &c));
	check_config(_metadata, t);

	c = rss_config(T_ALL);
	c.mask = t->cap.max_indirection_table_length < TABLE_ROOM ?
		 t->cap.max_indirection_table_length - 1 : TABLE_ROOM - 1;
	c.unclassified = 0xfffe;
	for (i = 0; i <= c.mask; i++)
		c.table[i] = 0xffff - i * 7;
	ASSERT_EQ(0, tap_set_hash(t, &c));
	check_config(_metadata, t);
	for (q = 1; q < t->nqueues; q++)
		check_get(_metadata, t->fds[q], &t->config);

	c = (struct hash_config){ 0 };
	ASSERT_EQ(0, tap_set_hash(t, &c));
	check_config(_metadata, t);
}

/*
 * A caller built with a later, longer struct tun_vnet_hash: its members
 * that this kernel does not know are zero, its table follows its struct.
 * Up to a page, the kernel takes it and reads it back the same way.
 */
TEST_F(tap, later_struct_version)
{
	size_t page = sysconf(_SC_PAGESIZE);
	struct tap *t = &self->t;
	struct hash_config c = other_config();
	union hash_arg arg;
	__u8 *buf;

	encode_config_size(&arg, &c, NEXT_SIZE);
	ASSERT_EQ(0, ioctl(t->fds[0], TUNSETVNETHASH, &arg));
	t->config = c;
	check_config(_metadata, t);
	check_get_size(_metadata, t->fds[0], &c, NEXT_SIZE);

	buf = calloc(1, page + sizeof(c.table));
	ASSERT_NE(NULL, buf);
	c = rss_config(T_ALL);
	encode_config_size(buf, &c, page);
	EXPECT_EQ(0, ioctl(t->fds[0], TUNSETVNETHASH, buf));
	free(buf);
	t->config = c;
	check_config(_metadata, t);
	check_get_size(_metadata, t->fds[0], &c, NEXT_SIZE);
}

/* Every packet on queue @q: the table and unclassified_queue all @q */
static struct hash_config queue_config(__u16 q)
{
	struct hash_config c = rss_config(T_ALL);
	int i;

	c.unclassified = q;
	for (i = 0; i <= c.mask; i++)
		c.table[i] = q;

	return c;
}

/* The mixed packets, each of which must be read from the file @fd */
static void check_on_file(struct __test_metadata *_metadata, struct tap *t,
			  int fd)
{
	int q;

	for (q = 0; q < t->nqueues && t->fds[q] != fd; q++)
		;
	ASSERT_LT(q, t->nqueues);
	check_steering(_metadata, t, q);
}

/*
 * Queue N is the file at index N: a file that attaches becomes the last
 * queue, and when queue N detaches, with IFF_DETACH_QUEUE or by closing,
 * the last queue becomes queue N and the others keep their number.
 */
TEST_F(tap, queue_numbers_follow_the_files)
{
	struct tap *t = &self->t;
	struct hash_config c = queue_config(1);
	int file0 = t->fds[0], file1 = t->fds[1], file3 = t->fds[3];

	ASSERT_EQ(NQUEUES, t->nqueues);
	ASSERT_EQ(0, tap_set_hash(t, &c));
	check_on_file(_metadata, t, file1);

	/* Queue 1 detaches: the file of queue 3 becomes queue 1 */
	ASSERT_EQ(0, tap_detach(t, 1));
	check_on_file(_metadata, t, file3);

	/* Attached again, the file becomes queue 3; queue 1 stays the same */
	ASSERT_EQ(0, tap_attach(t));
	check_on_file(_metadata, t, file3);
	c = queue_config(3);
	ASSERT_EQ(0, tap_set_hash(t, &c));
	check_on_file(_metadata, t, file1);

	/* Queue 0 closes: the last queue, file1 again, becomes queue 0 */
	c = queue_config(0);
	ASSERT_EQ(0, tap_set_hash(t, &c));
	check_on_file(_metadata, t, file0);
	close(t->fds[0]);
	t->fds[0] = t->fds[--t->nqueues];
	check_on_file(_metadata, t, file1);
	c = queue_config(1);
	ASSERT_EQ(0, tap_set_hash(t, &c));
	check_on_file(_metadata, t, file3);
}

/*
 * A file without a device (no TUNSETIFF): TUNGETVNETHASHCAP answers as
 * with one. TUNSETVNETHASH checks its argument before it looks for the
 * device: EINVAL or E2BIG for an invalid one, EBADFD for a valid one.
 */
TEST_F(tap, file_without_device)
{
	struct tun_vnet_hash_cap cap;
	struct hash_config c;
	union hash_arg arg;
	int fd;

	fd = open("/dev/net/tun", O_RDWR);
	ASSERT_LE(0, fd);
	EXPECT_EQ(0, get_cap(fd, &cap));
	EXPECT_EQ(0, memcmp(&cap, &self->t.cap, sizeof(cap)));

	/* Valid: RSS and REPORT, REPORT alone, flags 0 */
	c = rss_config(T_ALL);
	EXPECT_EQ(-EBADFD, set_hash(fd, &c));
	c = (struct hash_config){ .flags = TUN_VNET_HASH_REPORT,
				  .types = T_ALL, .key = main_key };
	EXPECT_EQ(-EBADFD, set_hash(fd, &c));
	c = (struct hash_config){ 0 };
	EXPECT_EQ(-EBADFD, set_hash(fd, &c));
	encode_config_size(&arg, &c, NEXT_SIZE);
	EXPECT_EQ(-EBADFD, set_hash_raw(fd, &arg));

	/* Invalid: flags, table length, unused member, pad, size */
	c = rss_config(T_ALL);
	c.flags |= 0x4;
	EXPECT_EQ(-EINVAL, set_hash(fd, &c));
	c = rss_config(T_ALL);
	c.mask = 2;
	EXPECT_EQ(-EINVAL, set_hash(fd, &c));
	c = (struct hash_config){ .types = T_IPV4 };
	EXPECT_EQ(-EINVAL, set_hash(fd, &c));
	c = rss_config(T_ALL);
	encode_config(&arg, &c);
	arg.h.pad[0] = 1;
	EXPECT_EQ(-EINVAL, set_hash_raw(fd, &arg));
	encode_config(&arg, &c);
	arg.h.size = TUN_VNET_HASH_SIZE_VER0 - 1;
	EXPECT_EQ(-EINVAL, set_hash_raw(fd, &arg));
	arg.h.size = sysconf(_SC_PAGESIZE) + 1;
	EXPECT_EQ(-E2BIG, set_hash_raw(fd, &arg));
	encode_config_size(&arg, &c, NEXT_SIZE);
	arg.bytes[NEXT_SIZE - 1] = 1;
	EXPECT_EQ(-E2BIG, set_hash_raw(fd, &arg));

	EXPECT_EQ(-EBADFD, get_hash_size(fd, &arg, TUN_VNET_HASH_SIZE_VER0));
	close(fd);
	check_config(_metadata, &self->t);
}

/*
 * The validation table: each bad input fails with its errno, and the
 * configuration set before still steers and reports.
 */
static void expect_rejected(struct __test_metadata *_metadata, struct tap *t,
			    const struct hash_config *bad, int err)
{
	EXPECT_EQ(-err, set_hash(t->fds[0], bad));
}

FIXTURE(invalid)
{
	struct tap t;
};

FIXTURE_SETUP(invalid)
{
	const char *why = NULL;
	struct hash_config c;

	draw_config_keys(_metadata->fixture->name, _metadata->name, 0);
	c = other_config();
	ASSERT_EQ(0, tap_open(&self->t, &why));
	if (why)
		SKIP(return, "%s", why);
	ASSERT_EQ(0, tap_set_hash(&self->t, &c));
}

FIXTURE_TEARDOWN(invalid)
{
	tap_close(&self->t);
}

TEST_F(invalid, unknown_flags)
{
	struct hash_config c = rss_config(T_ALL);

	c.flags |= 0x4;
	expect_rejected(_metadata, &self->t, &c, EINVAL);
	c.flags = 0x8000;
	expect_rejected(_metadata, &self->t, &c, EINVAL);
	check_config(_metadata, &self->t);
}

TEST_F(invalid, pad_not_zero)
{
	struct hash_config c = rss_config(T_ALL);
	union hash_arg arg;
	size_t i;

	for (i = 0; i < sizeof(arg.h.pad); i++) {
		encode_config(&arg, &c);
		arg.h.pad[i] = 1;
		EXPECT_EQ(-EINVAL, set_hash_raw(self->t.fds[0], &arg));
	}
	check_config(_metadata, &self->t);
}

TEST_F(invalid, unsupported_types)
{
	struct hash_config c = rss_config(T_ALL | 1U << 9);

	expect_rejected(_metadata, &self->t, &c, EINVAL);
	c.types = 1U << 31;
	expect_rejected(_metadata, &self->t, &c, EINVAL);
	check_config(_metadata, &self->t);
}

TEST_F(invalid, table_length_not_power_of_two)
{
	struct hash_config c = rss_config(T_ALL);

	c.mask = 2;
	expect_rejected(_metadata, &self->t, &c, EINVAL);
	c.mask = 126;
	expect_rejected(_metadata, &self->t, &c, EINVAL);
	check_config(_metadata, &self->t);
}

TEST_F(invalid, table_longer_than_max)
{
	unsigned int max = self->t.cap.max_indirection_table_length;
	struct hash_config c = rss_config(T_ALL);
	__u8 *buf;

	/* Twice the longest and 65536 entries: read nothing of them, fail */
	buf = calloc(1, sizeof(struct tun_vnet_hash) + 0x10000 * 2);
	ASSERT_NE(NULL, buf);
	encode_config(buf, &c);
	((struct tun_vnet_hash *)buf)->indirection_table_mask = 2 * max - 1;
	EXPECT_EQ(-1, ioctl(self->t.fds[0], TUNSETVNETHASH, buf));
	EXPECT_EQ(EINVAL, errno);
	((struct tun_vnet_hash *)buf)->indirection_table_mask = 0xffff;
	EXPECT_EQ(-1, ioctl(self->t.fds[0], TUNSETVNETHASH, buf));
	EXPECT_EQ(EINVAL, errno);
	free(buf);
	check_config(_metadata, &self->t);
}

TEST_F(invalid, rss_fields_without_rss)
{
	struct hash_config c = { .flags = TUN_VNET_HASH_REPORT,
				 .types = T_ALL, .key = main_key };
	union hash_arg arg;

	encode_config(&arg, &c);
	arg.h.indirection_table_mask = 1;
	EXPECT_EQ(-1, ioctl(self->t.fds[0], TUNSETVNETHASH, &arg));
	EXPECT_EQ(EINVAL, errno);
	encode_config(&arg, &c);
	arg.h.unclassified_queue = 1;
	EXPECT_EQ(-1, ioctl(self->t.fds[0], TUNSETVNETHASH, &arg));
	EXPECT_EQ(EINVAL, errno);
	check_config(_metadata, &self->t);
}

/* flags 0 disables: every other member must then be zero too */
TEST_F(invalid, flags_zero_with_members)
{
	static const struct hash_config none;
	struct hash_config c = { .types = T_IPV4 };
	int fd = self->t.fds[0];
	union hash_arg arg;

	expect_rejected(_metadata, &self->t, &c, EINVAL);
	c = (struct hash_config){ .key = main_key };
	expect_rejected(_metadata, &self->t, &c, EINVAL);
	encode_config(&arg, &none);
	arg.h.key[TUN_VNET_HASH_KEY_SIZE - 1] = 1;
	EXPECT_EQ(-EINVAL, set_hash_raw(fd, &arg));
	encode_config(&arg, &none);
	arg.h.indirection_table_mask = 1;
	EXPECT_EQ(-EINVAL, set_hash_raw(fd, &arg));
	encode_config(&arg, &none);
	arg.h.unclassified_queue = 1;
	EXPECT_EQ(-EINVAL, set_hash_raw(fd, &arg));
	check_config(_metadata, &self->t);
}

/*
 * The size member: below the first version's EINVAL, above a page E2BIG,
 * for TUNSETVNETHASH and TUNGETVNETHASH, which then writes nothing.
 */
TEST_F(invalid, size_out_of_range)
{
	__u32 sizes[] = { 0, TUN_VNET_HASH_SIZE_VER0 - 1,
			  sysconf(_SC_PAGESIZE) + 1, UINT32_MAX };
	struct hash_config c = rss_config(T_ALL);
	int fd = self->t.fds[0];
	union hash_arg arg;
	size_t i;
	int err;

	for (i = 0; i < ARRAY_SIZE(sizes); i++) {
		err = sizes[i] < TUN_VNET_HASH_SIZE_VER0 ? -EINVAL : -E2BIG;
		encode_config(&arg, &c);
		arg.h.size = sizes[i];
		EXPECT_EQ(err, set_hash_raw(fd, &arg)) {
			TH_LOG("TUNSETVNETHASH size %u", sizes[i]);
		}
		EXPECT_EQ(err, get_hash_size(fd, &arg, sizes[i])) {
			TH_LOG("TUNGETVNETHASH size %u", sizes[i]);
		}
		EXPECT_EQ(sizes[i], arg.h.size);
		EXPECT_EQ(sizeof(arg) - 4,
			  first_not(arg.bytes + 4, sizeof(arg) - 4, POISON));
	}
	check_config(_metadata, &self->t);
}

/*
 * A later struct whose members this kernel does not know are not all
 * zero: E2BIG, whichever byte it is, up to a page.
 */
TEST_F(invalid, unknown_member_not_zero)
{
	size_t page = sysconf(_SC_PAGESIZE);
	struct hash_config c = rss_config(T_ALL);
	int fd = self->t.fds[0];
	union hash_arg arg;
	size_t i;
	__u8 *buf;

	for (i = TUN_VNET_HASH_SIZE_VER0; i < NEXT_SIZE; i++) {
		encode_config_size(&arg, &c, NEXT_SIZE);
		arg.bytes[i] = 1;
		EXPECT_EQ(-E2BIG, set_hash_raw(fd, &arg)) {
			TH_LOG("byte %zu of a %u-byte struct", i, NEXT_SIZE);
		}
	}

	buf = calloc(1, page + sizeof(c.table));
	ASSERT_NE(NULL, buf);
	encode_config_size(buf, &c, page);
	buf[page - 1] = 0x80;
	EXPECT_EQ(-E2BIG, set_hash_raw(fd, buf));
	free(buf);
	check_config(_metadata, &self->t);
}

/*
 * EFAULT wherever the argument runs into an unmapped page: the header
 * itself, or the table that follows it.
 */
TEST_F(invalid, bad_pointer)
{
	long page = sysconf(_SC_PAGESIZE);
	struct hash_config c = rss_config(T_ALL);
	size_t len = sizeof(struct tun_vnet_hash) + (c.mask + 1) * 2;
	union hash_arg arg;
	__u8 *map, *guard;
	size_t cut;

	map = mmap(NULL, 2 * page, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, map);
	guard = map + page;
	ASSERT_EQ(0, mprotect(guard, page, PROT_NONE));
	encode_config(&arg, &c);

	/* The argument ends 1 .. len bytes early, cut by the guard page */
	for (cut = 1; cut <= len; cut++) {
		memcpy(guard - (len - cut), arg.bytes, len - cut);
		errno = 0;
		EXPECT_EQ(-1, ioctl(self->t.fds[0], TUNSETVNETHASH,
				    guard - (len - cut)));
		EXPECT_EQ(EFAULT, errno) {
			TH_LOG("argument %zu bytes before the guard page",
			       len - cut);
		}
	}
	EXPECT_EQ(-1, ioctl(self->t.fds[0], TUNSETVNETHASH, NULL));
	EXPECT_EQ(EFAULT, errno);

	/* Exactly up to the guard page: accepted, then set back */
	memcpy(guard - len, arg.bytes, len);
	EXPECT_EQ(0, ioctl(self->t.fds[0], TUNSETVNETHASH, guard - len));
	c = other_config();
	ASSERT_EQ(0, tap_set_hash(&self->t, &c));
	munmap(map, 2 * page);
	check_config(_metadata, &self->t);
}

TEST_F(invalid, report_needs_20_byte_header)
{
	struct hash_config c = other_config();
	int sz;

	c.flags = TUN_VNET_HASH_RSS;
	ASSERT_EQ(0, tap_set_hash(&self->t, &c));
	for (sz = 10; sz < HDR_SZ; sz += 2) {
		ASSERT_EQ(0, int_ioctl(self->t.fds[0], TUNSETVNETHDRSZ, sz));
		self->t.hdr_sz = sz;
		c = rss_config(T_ALL);
		expect_rejected(_metadata, &self->t, &c, EINVAL);
	}
	check_config(_metadata, &self->t);
}

TEST_F(invalid, report_needs_little_endian)
{
	struct hash_config c = other_config();
	int fd = self->t.fds[0];

	c.flags = TUN_VNET_HASH_RSS;
	ASSERT_EQ(0, tap_set_hash(&self->t, &c));
	if (int_ioctl(fd, TUNSETVNETBE, 1) == -EINVAL)
		SKIP(return, "TUNSETVNETBE needs CONFIG_TUN_VNET_CROSS_LE");
	c = rss_config(T_ALL);
	expect_rejected(_metadata, &self->t, &c, EINVAL);
	/* TUN_VNET_LE takes precedence over TUN_VNET_BE */
	ASSERT_EQ(0, int_ioctl(fd, TUNSETVNETLE, 1));
	ASSERT_EQ(0, tap_set_hash(&self->t, &c));
	c = other_config();
	c.flags = TUN_VNET_HASH_RSS;
	ASSERT_EQ(0, tap_set_hash(&self->t, &c));
	check_config(_metadata, &self->t);
}

/* While REPORT is on, the header cannot shrink below 20 bytes */
TEST_F(invalid, report_locks_header_size)
{
	int sz;

	for (sz = 10; sz < HDR_SZ; sz += 2)
		EXPECT_EQ(-EBUSY, int_ioctl(self->t.fds[0], TUNSETVNETHDRSZ,
					    sz));
	ASSERT_EQ(0, int_ioctl(self->t.fds[0], TUNSETVNETHDRSZ, 24));
	self->t.hdr_sz = 24;
	check_config(_metadata, &self->t);
}

/* While REPORT is on, the header cannot become big endian */
TEST_F(invalid, report_locks_endianness)
{
	int fd = self->t.fds[0];

	if (int_ioctl(fd, TUNSETVNETBE, 0) == -EINVAL)
		SKIP(return, "TUNSETVNETBE needs CONFIG_TUN_VNET_CROSS_LE");
	EXPECT_EQ(-EBUSY, int_ioctl(fd, TUNSETVNETBE, 1));
	/* With TUN_VNET_LE, TUN_VNET_BE does not matter, until LE goes */
	ASSERT_EQ(0, int_ioctl(fd, TUNSETVNETLE, 1));
	ASSERT_EQ(0, int_ioctl(fd, TUNSETVNETBE, 1));
	EXPECT_EQ(-EBUSY, int_ioctl(fd, TUNSETVNETLE, 0));
	ASSERT_EQ(0, int_ioctl(fd, TUNSETVNETBE, 0));
	ASSERT_EQ(0, int_ioctl(fd, TUNSETVNETLE, 0));
	check_config(_metadata, &self->t);
}

/* REPORT needs the header: without IFF_VNET_HDR tun writes none */
TEST_F(invalid, report_needs_vnet_hdr)
{
	struct hash_config c = rss_config(T_ALL);
	int fd, sz = HDR_SZ;

	fd = open_queue_flags("vhash%d", NULL, QUEUE_FLAGS & ~IFF_VNET_HDR);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, ioctl(fd, TUNSETVNETHDRSZ, &sz));
	ASSERT_EQ(0, int_ioctl(fd, TUNSETVNETLE, 1));
	EXPECT_EQ(-EINVAL, set_hash(fd, &c));
	c.flags = TUN_VNET_HASH_RSS;
	EXPECT_EQ(0, set_hash(fd, &c));
	close(fd);
	check_config(_metadata, &self->t);
}

/*
 * A persistent device keeps its configuration when its last queue
 * closes, and the first queue to attach again sets the flags: without
 * IFF_VNET_HDR it would leave REPORT on with no header to write.
 */
/*
 * Each queue that attaches sets the flags of the device: while REPORT is
 * on, one more queue without IFF_VNET_HDR is EBUSY and changes nothing.
 */
TEST_F(invalid, report_keeps_vnet_hdr_for_new_queues)
{
	struct tap *t = &self->t;
	int fd, err;

	fd = open_queue_flags(t->name, NULL, QUEUE_FLAGS & ~IFF_VNET_HDR);
	err = errno;
	EXPECT_EQ(-1, fd);
	EXPECT_EQ(EBUSY, err);
	if (fd >= 0)
		close(fd);
	check_config(_metadata, t);
}

/* A socket filter program that puts every packet on queue @queue */
static int load_steering_prog(int queue)
{
	struct bpf_insn insns[] = {
		{ .code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = BPF_REG_0,
		  .imm = queue },
		{ .code = BPF_JMP | BPF_EXIT },
	};
	union bpf_attr attr;

	memset(&attr, 0, sizeof(attr));
	attr.prog_type = BPF_PROG_TYPE_SOCKET_FILTER;
	attr.insns = (uintptr_t)insns;
	attr.insn_cnt = ARRAY_SIZE(insns);
	attr.license = (uintptr_t)"GPL";

	return syscall(__NR_bpf, BPF_PROG_LOAD, &attr, sizeof(attr));
}

/*
 * The configuration belongs to the files attached: once the last one of a
 * persistent device closes, its next user finds none, as a VMM that does
 * not know TUNSETVNETHASH expects (QEMU aborts when TUNSETVNETHDRSZ fails).
 */
TEST_F(invalid, persist_next_session_has_no_config)
{
	struct tap *t = &self->t;
	int i, sz = 12, prog, off = -1;

	/* TUNSETPERSIST takes the value, not a pointer */
	ASSERT_EQ(0, ioctl(t->fds[0], TUNSETPERSIST, 1));
	for (i = 0; i < t->nqueues; i++)
		close(t->fds[i]);
	t->nqueues = 0;

	for (i = 0; i < NQUEUES; i++) {
		t->fds[i] = open_queue(t->name, NULL);
		ASSERT_LE(0, t->fds[i]);
		t->nqueues++;
	}
	ASSERT_EQ(0, ioctl(t->fds[0], TUNSETPERSIST, 0));
	/* No REPORT: any header size; no RSS: a steering program */
	EXPECT_EQ(0, ioctl(t->fds[0], TUNSETVNETHDRSZ, &sz));
	prog = load_steering_prog(0);
	ASSERT_LE(0, prog);
	EXPECT_EQ(0, ioctl(t->fds[0], TUNSETSTEERINGEBPF, &prog));
	EXPECT_EQ(0, ioctl(t->fds[0], TUNSETSTEERINGEBPF, &off));
	close(prog);
}

static int set_steering(int fd, int prog)
{
	return ioctl(fd, TUNSETSTEERINGEBPF, &prog) ? -errno : 0;
}

/* RSS and a steering program exclude each other, both ways */
TEST_F(invalid, rss_and_steering_ebpf)
{
	struct hash_config c = rss_config(T_ALL);
	int fd = self->t.fds[0];
	int prog = load_steering_prog(3);

	ASSERT_LE(0, prog);
	EXPECT_EQ(-EBUSY, set_steering(fd, prog));

	c = (struct hash_config){ .flags = TUN_VNET_HASH_REPORT,
				  .types = other_types, .key = other_key };
	ASSERT_EQ(0, tap_set_hash(&self->t, &c));
	ASSERT_EQ(0, set_steering(fd, prog));
	c = rss_config(T_ALL);
	expect_rejected(_metadata, &self->t, &c, EBUSY);

	/* REPORT with the program: its queue, and the hash reported */
	check_steering(_metadata, &self->t, 3);

	ASSERT_EQ(0, set_steering(fd, -1));
	c = other_config();
	ASSERT_EQ(0, tap_set_hash(&self->t, &c));
	close(prog);
	check_config(_metadata, &self->t);
}

TEST_HARNESS_MAIN

#endif /* TUNSETVNETHASH */
