// attention.cl: kernels of the attention family. See the Swift reference in Sources/ReferenceDevice.
