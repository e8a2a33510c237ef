/* arch/switch_aarch64.S — the aarch64 context switch (AAPCS64).
 *
 * void corio__switch(void **from_sp, void *to_sp)
 *   saves x19-x30, d8-d15 and FPCR (rounding mode and other floating-point
 *   controls, the counterpart of x86-64's MXCSR) in a 176-byte frame on the
 *   current stack, stores sp in *from_sp, loads to_sp, restores the same and
 *   returns to the other context's x30.  A fresh context holds x19, x21,
 *   x22 = the entry's three arguments, x20 = entry, x29 = 0, x30 =
 *   corio__trampoline and the loop thread's FPCR.
 *
 * void corio__jump(void *to_sp)
 *   the second half alone: resumes the context saved at to_sp without
 *   saving the caller's, for a task that has finished (its stack is about
 *   to be reused, so nothing will switch back to it). */
    .text
    .globl corio__switch
    .hidden corio__switch
    .type corio__switch, %function
    .align 4
corio__switch:
    sub sp, sp, #176
    stp x19, x20, [sp, #0]
    stp x21, x22, [sp, #16]
    stp x23, x24, [sp, #32]
    stp x25, x26, [sp, #48]
    stp x27, x28, [sp, #64]
    stp x29, x30, [sp, #80]
    stp d8, d9, [sp, #96]
    stp d10, d11, [sp, #112]
    stp d12, d13, [sp, #128]
    stp d14, d15, [sp, #144]
    mrs x10, fpcr
    str x10, [sp, #160]
    mov x9, sp
    str x9, [x0]
    mov sp, x1
.Lrestore:
    ldp x19, x20, [sp, #0]
    ldp x21, x22, [sp, #16]
    ldp x23, x24, [sp, #32]
    ldp x25, x26, [sp, #48]
    ldp x27, x28, [sp, #64]
    ldp x29, x30, [sp, #80]
    ldp d8, d9, [sp, #96]
    ldp d10, d11, [sp, #112]
    ldp d12, d13, [sp, #128]
    ldp d14, d15, [sp, #144]
    ldr x10, [sp, #160]
    msr fpcr, x10
    add sp, sp, #176
    ret
    .size corio__switch, .-corio__switch

    .globl corio__jump
    .hidden corio__jump
    .type corio__jump, %function
    .align 4
corio__jump:
    mov sp, x0
    b .Lrestore
    .size corio__jump, .-corio__jump

    .globl corio__trampoline
    .hidden corio__trampoline
    .type corio__trampoline, %function
    .align 4
corio__trampoline:
    .cfi_startproc
    .cfi_undefined x30      /* the first frame of a task: stop unwinding */
    mov x0, x19
    mov x1, x21
    mov x2, x22
    blr x20                 /* entry(a0, a1, a2) never returns */
    brk #0
    .cfi_endproc
    .size corio__trampoline, .-corio__trampoline

    .section .note.GNU-stack,"",@progbits
