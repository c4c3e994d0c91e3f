;; Writes guest memory through every kind of write the instruction set has, at an address the
;; caller chooses, so tests can check that the host's reset after a call (which restores only the
;; memory below the highest address a call could have written) misses nothing.
;; `scan` reports how many bytes differ from a fresh instance's memory, and the first of them.
(module
  (import "forgeone" "config_get" (func $config_get (param i32 i32) (result i64)))
  (memory (export "memory") 2 4)
  ;; Fresh memory: these 9 bytes at 100, zero elsewhere ("k" is the config key).
  (data (i32.const 100) "ABCDEFGHk")
  (data $passive "wxyz")
  (global $heap (mut i32) (i32.const 1024))
  (func (export "forgeone_abi_version") (result i32) i32.const 1)
  (func $alloc (export "forgeone_alloc") (param $n i32) (result i32) (local $p i32)
    (local.set $p (global.get $heap))
    (global.set $heap (i32.add (global.get $heap) (local.get $n)))
    (local.get $p))

  (func $u32 (param $p i32) (result i32) (i32.load (local.get $p)))

  ;; A store in a callee that leaves through `return`.
  (func $store_and_return (param $a i32)
    (i32.store8 (local.get $a) (i32.const 1))
    (return))
  ;; A store in a callee that leaves through a branch to its own label.
  (func $store_and_branch (param $a i32)
    (i32.store8 (local.get $a) (i32.const 2))
    (br 0))
  ;; Stores in a tight loop (not tracked store by store: the whole memory is restored), one byte per
  ;; iteration up to (and including) $a.
  (func $store_in_loop (param $a i32) (local $i i32)
    (local.set $i (i32.sub (local.get $a) (i32.const 7)))
    (loop $l
      (i32.store8 (local.get $i) (i32.const 3))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $l (i32.le_u (local.get $i) (local.get $a)))))
  ;; The same in a loop with enough other work that each store is tracked.
  (func $store_in_sparse_loop (param $a i32) (local $i i32) (local $x i32)
    (local.set $i (i32.sub (local.get $a) (i32.const 7)))
    (loop $l
      (local.set $x (i32.mul (i32.add (local.get $x) (local.get $i)) (i32.const 31)))
      (local.set $x (i32.xor (local.get $x) (i32.shr_u (local.get $x) (i32.const 7))))
      (local.set $x (i32.xor (local.get $x) (i32.shl (local.get $x) (i32.const 3))))
      (local.set $x (i32.xor (local.get $x) (i32.shr_u (local.get $x) (i32.const 5))))
      (local.set $x (i32.xor (local.get $x) (i32.shl (local.get $x) (i32.const 9))))
      (local.set $x (i32.xor (local.get $x) (i32.shr_u (local.get $x) (i32.const 11))))
      (local.set $x (i32.xor (local.get $x) (i32.shl (local.get $x) (i32.const 13))))
      (local.set $x (i32.xor (local.get $x) (i32.shr_u (local.get $x) (i32.const 2))))
      (i32.store8 (local.get $i) (i32.or (local.get $x) (i32.const 1)))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $l (i32.le_u (local.get $i) (local.get $a)))))

  ;; Input: op (1 byte), then the address (u32, little endian). Output: the op, written at the heap
  ;; (low addresses), so only the op's own write can reach a high address.
  (func (export "write") (param $p i32) (param $l i32) (result i64) (local $op i32) (local $a i32) (local $o i32)
    (local.set $op (i32.load8_u (local.get $p)))
    (local.set $a (call $u32 (i32.add (local.get $p) (i32.const 1))))
    (block $done
      (block $b15 (block $b14 (block $b13 (block $b12 (block $b11 (block $b10 (block $b9 (block $b8 (block $b7 (block $b6 (block $b5 (block $b4 (block $b3 (block $b2 (block $b1 (block $b0
        (br_table $b0 $b1 $b2 $b3 $b4 $b5 $b6 $b7 $b8 $b9 $b10 $b11 $b12 $b13 $b14 $b15 $done (local.get $op)))
        (i32.store (local.get $a) (i32.const 0x01010101)) (br $done))
        (i64.store offset=8 (local.get $a) (i64.const -1)) (br $done))
        (f32.store offset=100 (local.get $a) (f32.const 1.5)) (br $done))
        (f64.store offset=1000 (local.get $a) (f64.const -2.5)) (br $done))
        (i32.store8 offset=500 (local.get $a) (i32.const 5)) (br $done))
        (i32.store16 (local.get $a) (i32.const 0x0606)) (br $done))
        (i64.store8 (local.get $a) (i64.const 7)) (br $done))
        (i64.store16 (local.get $a) (i64.const 0x0808)) (br $done))
        (i64.store32 (local.get $a) (i64.const 0x09090909)) (br $done))
        (memory.fill (local.get $a) (i32.const 0xab) (i32.const 16)) (br $done))
        (memory.copy (local.get $a) (i32.const 100) (i32.const 8)) (br $done))
        (memory.init $passive (local.get $a) (i32.const 0) (i32.const 4)) (br $done))
        (call $store_and_return (local.get $a)) (br $done))
        (call $store_and_branch (local.get $a)) (br $done))
        (call $store_in_loop (local.get $a)) (br $done))
      (call $store_in_sparse_loop (local.get $a)))
    (local.set $o (call $alloc (i32.const 1)))
    (i32.store8 (local.get $o) (local.get $op))
    (i64.or (i64.shl (i64.extend_i32_u (local.get $o)) (i64.const 32)) (i64.const 1)))

  ;; Input: an address (u32). Writes 8 bytes of 0xff there and answers them in place: no other
  ;; write, so what the host restores depends on this store and the input alone.
  (func (export "poke") (param $p i32) (param $l i32) (result i64) (local $a i32)
    (local.set $a (call $u32 (local.get $p)))
    (i64.store (local.get $a) (i64.const -1))
    (i64.or (i64.shl (i64.extend_i32_u (local.get $a)) (i64.const 32)) (i64.const 8)))

  ;; Writes nothing: only the host wrote (its input).
  (func (export "noop") (param i32 i32) (result i64) (i64.const 0))

  ;; Asks the host for config value "k": the host copies it into memory it allocates here.
  (func (export "config") (param i32 i32) (result i64)
    (drop (call $config_get (i32.const 108) (i32.const 1)))
    (i64.const 0))

  ;; Output: the number of bytes that differ from a fresh instance's memory, then the first such
  ;; address (u32 each; 0xffffffff when none). The data bytes at 100..108 count as one when changed.
  (func (export "scan") (param i32 i32) (result i64) (local $i i32) (local $end i32) (local $count i32) (local $first i32) (local $o i32)
    (local.set $end (i32.shl (memory.size) (i32.const 16)))
    (local.set $first (i32.const -1))
    (if (i32.or (i64.ne (i64.load (i32.const 100)) (i64.const 0x4847464544434241)) (i32.ne (i32.load8_u (i32.const 108)) (i32.const 0x6b)))
      (then (local.set $count (i32.const 1)) (local.set $first (i32.const 100))))
    (block $d (loop $l
      (br_if $d (i32.ge_u (local.get $i) (local.get $end)))
      (if (i32.and (i32.ne (i32.load8_u (local.get $i)) (i32.const 0)) (i32.or (i32.lt_u (local.get $i) (i32.const 100)) (i32.ge_u (local.get $i) (i32.const 109))))
        (then
          (local.set $count (i32.add (local.get $count) (i32.const 1)))
          (if (i32.lt_u (local.get $i) (local.get $first)) (then (local.set $first (local.get $i))))))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br $l)))
    (local.set $o (call $alloc (i32.const 8)))
    (i32.store (local.get $o) (local.get $count))
    (i32.store offset=4 (local.get $o) (local.get $first))
    (i64.or (i64.shl (i64.extend_i32_u (local.get $o)) (i64.const 32)) (i64.const 8)))
)
