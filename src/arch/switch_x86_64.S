/* arch/switch_x86_64.S — the x86-64 context switch (System V ABI).
 *
 * void corio__switch(void **from_sp, void *to_sp)
 *   pushes rbp rbx r12-r15 and an 8-byte slot holding MXCSR and the x87
 *   control word, stores rsp in *from_sp, loads to_sp, pops the same and
 *   returns into the other context.  A fresh context (corio__ctx_make) holds
 *   the same frame with r12, r13, r14 = the entry's three arguments, rbx =
 *   entry and the return address set to corio__trampoline.
 *
 * void corio__jump(void *to_sp)
 *   the second half alone: resumes the context saved at to_sp without
 *   saving the caller's, for a task that has finished (its stack is about
 *   to be reused, so nothing will switch back to it). */
    .text
    .globl corio__switch
    .hidden corio__switch
    .type corio__switch, @function
    .align 16
corio__switch:
    .cfi_startproc
    pushq %rbp
    pushq %rbx
    pushq %r12
    pushq %r13
    pushq %r14
    pushq %r15
    subq $8, %rsp
    stmxcsr (%rsp)
    fnstcw 4(%rsp)
    movq %rsp, (%rdi)
    movq %rsi, %rsp
.Lrestore:
    ldmxcsr (%rsp)
    fldcw 4(%rsp)
    addq $8, %rsp
    popq %r15
    popq %r14
    popq %r13
    popq %r12
    popq %rbx
    popq %rbp
    ret
    .cfi_endproc
    .size corio__switch, .-corio__switch

    .globl corio__jump
    .hidden corio__jump
    .type corio__jump, @function
    .align 16
corio__jump:
    .cfi_startproc
    movq %rdi, %rsp
    jmp .Lrestore
    .cfi_endproc
    .size corio__jump, .-corio__jump

    .globl corio__trampoline
    .hidden corio__trampoline
    .type corio__trampoline, @function
    .align 16
corio__trampoline:
    .cfi_startproc
    .cfi_undefined rip      /* the first frame of a task: stop unwinding */
    movq %r12, %rdi
    movq %r13, %rsi
    movq %r14, %rdx
    call *%rbx              /* entry(a0, a1, a2) never returns */
    ud2
    .cfi_endproc
    .size corio__trampoline, .-corio__trampoline

    .section .note.GNU-stack,"",@progbits
