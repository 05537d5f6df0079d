/* SPDX-License-Identifier: Apache-2.0 */
/* pktgen-xdp: the xdp-live generator (pktgen-xdp.h). */
#include "tools/pktgen/pktgen-xdp.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <linux/if_link.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>

#include "lib/util.h"

extern const unsigned char pktgen_tx_bpf_obj[];
extern const size_t pktgen_tx_bpf_obj_len;

#define TX_BATCH 64 /* frames the kernel runs before it flushes the redirects */

struct pktgen_xdp {
    struct bpf_object *obj;
    int prog_fd, seq_fd;
    int pin_fd; /* the generic-mode bpf link, or -1 */
    bool pinned;
    size_t data_len;
    /* data_in: 4 bytes of XDP metadata (the cookie), then the frame. */
    uint8_t data[sizeof(__u32) + PKTGEN_MAX_SIZE];
};

int
pktgen_xdp_probe(void)
{
    /* r0 = XDP_DROP; exit */
    const struct bpf_insn insns[] = {
        {.code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = BPF_REG_0, .imm = XDP_DROP},
        {.code = BPF_JMP | BPF_EXIT},
    };
    int fd =
        bpf_prog_load(BPF_PROG_TYPE_XDP, "pktgen_probe", "GPL", insns, ARRAY_SIZE(insns), NULL);
    if (fd < 0)
        return fd;
    uint8_t frame[64] = {0};
    LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = frame, .data_size_in = sizeof frame,
                .repeat = 1, .flags = BPF_F_TEST_XDP_LIVE_FRAMES);
    int rc = bpf_prog_test_run_opts(fd, &opts);
    close(fd);
    return rc < 0 ? rc : 0;
}

struct bpf_object *
pktgen_xdp_obj_load(const unsigned char *img, size_t len, const char *what, char *err,
                    size_t err_len)
{
    struct bpf_object *obj = bpf_object__open_mem(img, len, NULL);
    if (!obj) {
        err_set(err, err_len, -errno, "cannot open the %s program: %s", what, strerror(errno));
        return NULL;
    }
    int rc = bpf_object__load(obj);
    if (rc) {
        err_set(err, err_len, rc, "cannot load the %s program: %s (DSE_PKTGEN_DEBUG=1 shows why)",
                what, strerror(-rc));
        bpf_object__close(obj);
        return NULL;
    }
    return obj;
}

/* The link fd, or -1 when the interface has XDP already (then every chunk
 * pays the dispatcher updates) or DSE_PKTGEN_NO_PIN is set. */
static int
xdp_pin(int prog_fd, int ifindex)
{
    if (getenv("DSE_PKTGEN_NO_PIN"))
        return -1;
    LIBBPF_OPTS(bpf_link_create_opts, lopts, .flags = XDP_FLAGS_SKB_MODE);
    int fd = bpf_link_create(prog_fd, ifindex, BPF_XDP, &lopts);
    return fd >= 0 ? fd : -1;
}

/* Finds the program and its maps and configures it.  Returns 0 or -errno. */
static int
xdp_setup(struct pktgen_xdp *x, const struct pktgen_opts *o, int ifindex, __u32 cookie, char *err,
          size_t err_len)
{
    struct bpf_program *prog = bpf_object__find_program_by_name(x->obj, "pktgen_tx");
    int cfg_fd = bpf_object__find_map_fd_by_name(x->obj, "tx_cfg");
    x->seq_fd = bpf_object__find_map_fd_by_name(x->obj, "tx_seq");
    if (!prog || cfg_fd < 0 || x->seq_fd < 0)
        return err_set(err, err_len, -ENOENT, "the tx program lacks its maps");
    x->prog_fd = bpf_program__fd(prog);
    __u32 k0 = 0;
    struct pktgen_tx_cfg cfg;
    pktgen_tx_cfg_init(o, &cfg);
    cfg.cookie = cookie;
    cfg.ifindex = (__u32)ifindex;
    if (bpf_map_update_elem(cfg_fd, &k0, &cfg, BPF_ANY))
        return err_set(err, err_len, -errno, "cannot configure the tx program: %s",
                       strerror(errno));
    return 0;
}

static void
xdp_close(void *ctx)
{
    struct pktgen_xdp *x = ctx;
    if (!x)
        return;
    if (x->pin_fd >= 0)
        close(x->pin_fd);
    bpf_object__close(x->obj);
    free(x);
}

static int
xdp_open(const struct pktgen_opts *o, int ifindex, void **ctx, char *err, size_t err_len)
{
    struct pktgen_xdp *x = calloc(1, sizeof *x);
    if (!x)
        return err_set(err, err_len, -ENOMEM, "out of memory");
    x->pin_fd = -1;
    __u32 cookie = 0;
    while (!cookie && getrandom(&cookie, sizeof cookie, 0) != sizeof cookie)
        ;
    memcpy(x->data, &cookie, sizeof cookie);
    size_t frame_len = pktgen_frame_build(o, x->data + sizeof cookie, PKTGEN_MAX_SIZE);
    if (!frame_len) {
        free(x);
        return err_set(err, err_len, -EINVAL, "cannot build a %u byte frame", o->size);
    }
    x->data_len = sizeof cookie + frame_len;
    int rc = -EINVAL;
    x->obj = pktgen_xdp_obj_load(pktgen_tx_bpf_obj, pktgen_tx_bpf_obj_len, "tx", err, err_len);
    if (!x->obj || (rc = xdp_setup(x, o, ifindex, cookie, err, err_len)) < 0) {
        xdp_close(x);
        return rc;
    }
    x->pin_fd = xdp_pin(x->prog_fd, ifindex);
    x->pinned = x->pin_fd >= 0;
    *ctx = x;
    return 0;
}

static int64_t
xdp_send(void *ctx, uint64_t n)
{
    struct pktgen_xdp *x = ctx;
    struct xdp_md md = {.data = sizeof(__u32), .data_end = (__u32)x->data_len};
    LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = x->data, .data_size_in = (__u32)x->data_len,
                .ctx_in = &md, .ctx_size_in = sizeof md, .repeat = (__u32)n,
                .batch_size = (__u32)MIN(n, TX_BATCH), .flags = BPF_F_TEST_XDP_LIVE_FRAMES);
    return bpf_prog_test_run_opts(x->prog_fd, &opts) ? -errno : (int64_t)n;
}

bool
pktgen_xdp_pinned(const void *ctx)
{
    return ((const struct pktgen_xdp *)ctx)->pinned;
}

static int
xdp_finish(void *ctx, uint64_t *sent, char *err, size_t err_len)
{
    struct pktgen_xdp *x = ctx;
    if (x->pin_fd >= 0)
        close(x->pin_fd);
    x->pin_fd = -1;
    __u32 k0 = 0;
    __u64 v = 0;
    if (bpf_map_lookup_elem(x->seq_fd, &k0, &v))
        return err_set(err, err_len, -errno, "cannot read the frame counter: %s", strerror(errno));
    *sent = v;
    return 0;
}

const struct pktgen_gen_ops pktgen_xdp_ops = {
    .name = "xdp-live",
    .chunk_max = 8192, /* frames per BPF_PROG_RUN at --rate max */
    .open = xdp_open,
    .send = xdp_send,
    .finish = xdp_finish,
    .close = xdp_close,
};
