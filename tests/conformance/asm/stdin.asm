; Copies stdin to stdout with read(2) and write(2).
section .bss
buf:    resb 4096

section .text
global _start
_start:
.loop:
    mov rax, 0          ; read(0, buf, 4096)
    mov rdi, 0
    mov rsi, buf
    mov rdx, 4096
    syscall
    cmp rax, 0
    jle .done
    mov rdx, rax        ; write(1, buf, n)
    mov rax, 1
    mov rdi, 1
    mov rsi, buf
    syscall
    jmp .loop
.done:
    mov rax, 60         ; exit(0)
    xor rdi, rdi
    syscall
