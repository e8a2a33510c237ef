/* arch/context.c — building fresh contexts and switching, with the
 * sanitizer annotations; the ucontext fallback for other CPUs.
 *
 * A fresh context on the hand-written switch is a stack whose top holds the
 * frame corio__switch pops (see switch_<cpu>.S):
 *
 *     hi  +---------------------------+  lo + size (16-byte aligned)
 *         | return address: trampoline|  x86-64 (aarch64: x30 in the frame)
 *         | rbp=0 rbx=entry r12=a0    |
 *         | r13=a1 r14=a2 r15         |
 *         | MXCSR | x87 control word  |  <- saved sp
 *         |         ...free...        |
 *     lo  +---------------------------+ */
#include "arch/context.h"

#include <stdint.h>
#include <string.h>

#ifdef CORIO__ASAN
#include <sanitizer/asan_interface.h>
#include <sanitizer/common_interface_defs.h>
#include <pthread.h>
#endif
#ifdef CORIO__TSAN
#include <sanitizer/tsan_interface.h>
#endif

#ifndef CORIO__UCONTEXT
void corio__switch(void **from_sp, void *to_sp);

/* New tasks start with the floating-point control state (x86-64: MXCSR
 * and the x87 control word; aarch64: FPCR) the thread had when its loop
 * started (read once: fnstcw is slow enough to show in spawn). */
__thread __attribute__((tls_model("initial-exec"))) uint64_t corio__fp_control;

static void save_fp_control(void)
{
#if defined(__x86_64__)
    uint32_t mxcsr;
    uint16_t fpucw;
    __asm__ volatile("stmxcsr %0" : "=m"(mxcsr));
    __asm__ volatile("fnstcw %0" : "=m"(fpucw));
    corio__fp_control = (uint64_t)mxcsr | (uint64_t)fpucw << 32;
#elif defined(__aarch64__)
    __asm__ volatile("mrs %0, fpcr" : "=r"(corio__fp_control));
#endif
}

#define make_frame corio__ctx_frame /* context.h: inline for every caller */
#else
/* ucontext: the ucontext_t and the start record sit at the top of the
 * stack; makecontext passes the record's address as two ints. */
typedef struct uc_start {
    corio__entry_fn entry;
    void *a0, *a1, *a2;
} uc_start;

static __thread __attribute__((tls_model("initial-exec"))) ucontext_t root_uc;

static void uc_entry(unsigned hi, unsigned lo)
{
    uc_start *s = (uc_start *)(((uintptr_t)hi << 32) | lo);
    s->entry(s->a0, s->a1, s->a2);
}

static void make_frame(corio__ctx *c, void *lo, size_t size,
                       corio__entry_fn entry, void *a0, void *a1, void *a2)
{
    uintptr_t top = ((uintptr_t)lo + size) & ~(uintptr_t)15;
    ucontext_t *uc =
        (ucontext_t *)((top - sizeof(ucontext_t)) & ~(uintptr_t)15);
    uc_start *s = (uc_start *)((uintptr_t)uc - 32);
    s->entry = entry;
    s->a0 = a0;
    s->a1 = a1;
    s->a2 = a2;
    getcontext(uc);
    uc->uc_stack.ss_sp = lo;
    uc->uc_stack.ss_size = (uintptr_t)s - (uintptr_t)lo;
    uc->uc_link = NULL;
    uintptr_t p = (uintptr_t)s;
    makecontext(uc, (void (*)(void))uc_entry, 2, (unsigned)(p >> 32),
                (unsigned)(p & 0xffffffffu));
    c->uc = uc;
}
#endif

#if defined(CORIO__UCONTEXT) || defined(CORIO__ASAN) || defined(CORIO__TSAN)
void corio__ctx_make(corio__ctx *c, void *lo, size_t size,
                     corio__entry_fn entry, void *a0, void *a1, void *a2)
{
    make_frame(c, lo, size, entry, a0, a1, a2);
#ifdef CORIO__ASAN
    c->stack_lo = lo;
    c->stack_size = size;
    c->fake_stack = NULL;
#endif
#ifdef CORIO__TSAN
    c->fiber = __tsan_create_fiber(0);
#endif
}
#endif

void corio__ctx_root(corio__ctx *c)
{
    memset(c, 0, sizeof *c);
#ifndef CORIO__UCONTEXT
    save_fp_control();
#endif
#ifdef CORIO__UCONTEXT
    c->uc = &root_uc;
#endif
#ifdef CORIO__ASAN
    pthread_attr_t a;
    void *addr = NULL;
    size_t size = 0;
    if (pthread_getattr_np(pthread_self(), &a) == 0) {
        pthread_attr_getstack(&a, &addr, &size);
        pthread_attr_destroy(&a);
    }
    c->stack_lo = addr;
    c->stack_size = size;
#endif
#ifdef CORIO__TSAN
    c->fiber = __tsan_get_current_fiber();
#endif
}

#if defined(CORIO__UCONTEXT) || defined(CORIO__ASAN) || defined(CORIO__TSAN)
static inline void raw_switch(corio__ctx *from, corio__ctx *to)
{
#ifdef CORIO__TSAN
    __tsan_switch_to_fiber(to->fiber, 0);
#endif
#ifdef CORIO__UCONTEXT
    swapcontext(from->uc, to->uc);
#else
    corio__switch(&from->sp, to->sp);
#endif
}

void corio__ctx_switch(corio__ctx *from, corio__ctx *to)
{
#ifdef CORIO__ASAN
    __sanitizer_start_switch_fiber(&from->fake_stack, to->stack_lo,
                                   to->stack_size);
    raw_switch(from, to);
    __sanitizer_finish_switch_fiber(from->fake_stack, NULL, NULL);
#else
    raw_switch(from, to);
#endif
}

void corio__ctx_exit(corio__ctx *from, corio__ctx *to)
{
#ifdef CORIO__ASAN
    /* NULL: this stack will not be resumed, so ASan drops its fake frames. */
    __sanitizer_start_switch_fiber(NULL, to->stack_lo, to->stack_size);
#endif
    raw_switch(from, to);
    __builtin_unreachable();
}

void corio__ctx_started(void)
{
#ifdef CORIO__ASAN
    __sanitizer_finish_switch_fiber(NULL, NULL, NULL);
#endif
}

#endif

#if defined(CORIO__UCONTEXT) || defined(CORIO__ASAN) || defined(CORIO__TSAN)
void corio__ctx_free(corio__ctx *c)
{
#ifdef CORIO__TSAN
    if (c->fiber)
        __tsan_destroy_fiber(c->fiber);
    c->fiber = NULL;
#else
    (void)c;
#endif
}
#endif
