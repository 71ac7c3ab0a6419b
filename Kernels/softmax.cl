// softmax.cl: kernels of the softmax family. See the Swift reference in Sources/ReferenceDevice.
