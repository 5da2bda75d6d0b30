"""
@article{delaRosaTrevin2016,
title = "Scipion: A software framework toward integration, reproducibility and validation in 3D electron microscopy",
journal = "Journal of Structural Biology",
volume = "195",
number = "1",
pages = "93--99",
year = "2016",
doi = "http://doi.org/10.1016/j.jsb.2016.04.010",
author = "J.M. de la Rosa-Trevín and A. Quintana and L. del Cano and A. Zaldívar and I. Foche and J. Gutiérrez and J. Gómez-Blanco and J. Burguet-Castell and J. Cuenca-Alba and V. Abrishami and J. Vargas and J. Otón and G. Sharov and J.L. Vilas and J. Navas and P. Conesa and M. Kazemi and R. Marabini and C.O.S. Sorzano and J.M. Carazo"
}
"""
