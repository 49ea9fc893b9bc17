"""Procedural golf-scene rendering behind gen_dataset.py, one module per job.

    raster       colour, smooth noise, motion-blur kernels, polygon / ellipse stamping, compositing
    backgrounds  grass, range mat, sky, net / screen, tree line; make_background picks the scene type
    distractors  tees, divots, line markings, loose hands / gloves, litter, clutter (hard negatives)
    ball         the golf ball (shading, dimples, shadow, motion streak) and its label box
    club         the club head on its shaft, grip and hands, swing blur, and its label box
    photometric  gain, colour temperature, light, vignette, gamma, defocus, noise, 8-bit output
    scene        make_scene: one frame from its RNG; the golden frames' fixed configs
    labels       class names, YOLO label lines, the ultralytics dataset yaml
"""
