"""Generated tests and what they are for: the pass matrix of N model-written solutions
against M model-written tests, the selectors that pick one solution from it (B4, CodeT,
MBR-exec, MaxPass, random), and DSTC preference pairs (harness/prefs.py).

Run-directory files: test_generations.jsonl (test-generation stage), matrix.jsonl (matrix
stage), selection.json (`codeharness select`).
"""
