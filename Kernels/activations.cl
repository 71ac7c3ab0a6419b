// activations.cl: kernels of the activations family. See the Swift reference in Sources/ReferenceDevice.
