#!/usr/bin/env python3
"""Reads a poisonlab model file (safetensors) with NumPy alone and runs its MLP
on an IDX test set: prints the number of correct predictions and the count.

Usage: safetensors_forward.py MODEL.safetensors IMAGES.idx[.gz] LABELS.idx[.gz]
Debian's python3 with python3-numpy (make deps) is all it needs; ModelFileTests
checks that it reproduces poisonlab's test accuracy exactly.
"""
import gzip
import json
import struct
import sys

import numpy as np


def read_safetensors(path):
    data = open(path, 'rb').read()
    (n,) = struct.unpack('<Q', data[:8])
    header = json.loads(data[8:8 + n])
    meta = header.pop('__metadata__', {})
    base = 8 + n
    tensors = {}
    for name, info in header.items():
        assert info['dtype'] == 'F32'
        begin, end = info['data_offsets']
        tensors[name] = np.frombuffer(data[base + begin:base + end], dtype='<f4').reshape(info['shape'])
    return tensors, meta


def read_idx(path):
    raw = open(path, 'rb').read()
    if raw[:2] == b'\x1f\x8b':
        raw = gzip.decompress(raw)
    dims = raw[3]
    shape = struct.unpack('>' + 'I' * dims, raw[4:4 + 4 * dims])
    return np.frombuffer(raw[4 + 4 * dims:], dtype=np.uint8).reshape(shape)


def main():
    tensors, meta = read_safetensors(sys.argv[1])
    images = read_idx(sys.argv[2]).astype(np.float32)
    labels = read_idx(sys.argv[3]).astype(np.int64)
    arch = json.loads(meta['architecture'])
    assert arch['name'] == 'mlp', 'this reader runs the mlp'
    norm = json.loads(meta['normalization'])
    offset = np.array(norm['offset'], dtype=np.float32)
    factor = np.array(norm['factor'], dtype=np.float32)
    # PyTorch's flattening of a (C, H, W) image; one channel here.
    x = ((images.reshape(len(images), -1) - offset) * factor).astype(np.float64)
    indices = sorted({int(name.split('.')[1]) for name in tensors})
    for k, index in enumerate(indices):
        w = tensors['layers.%d.weight' % index].astype(np.float64)
        b = tensors['layers.%d.bias' % index].astype(np.float64)
        x = x @ w.T + b
        if k < len(indices) - 1:
            x = np.maximum(x, 0)
    correct = int((x.argmax(axis=1) == labels).sum())
    print(correct, len(labels))


main()
