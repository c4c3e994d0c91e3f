;; Changes its function table (table.set), state the host cannot snapshot: it must get a fresh
;; instance per call and still see the initial table every time.
(module
  (type $f (func (result i32)))
  (memory (export "memory") 1 2)
  (table $t 2 funcref)
  (elem (i32.const 0) $one)
  (func $one (result i32) i32.const 1)
  (func $two (result i32) i32.const 2)
  (elem declare func $two)
  (func (export "forgeone_abi_version") (result i32) i32.const 1)
  (func (export "forgeone_alloc") (param i32) (result i32) i32.const 1024)
  ;; Returns one byte: what slot 0 answers before the swap, then swaps in $two.
  (func (export "swap") (param i32 i32) (result i64)
    (i32.store8 (i32.const 512) (call_indirect (type $f) (i32.const 0)))
    (table.set $t (i32.const 0) (ref.func $two))
    (i64.or (i64.shl (i64.const 512) (i64.const 32)) (i64.const 1)))
)
