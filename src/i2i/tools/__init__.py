"""Tools around a trained run: the HTML report, ONNX export, sample grids."""
