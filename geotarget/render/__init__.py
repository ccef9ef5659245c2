"""Drawing a result: the picture (catchment, footprints, wasted area by density) computed once
(:mod:`.picture`), then drawn as an offline interactive web map (:mod:`.webmap`, folium and
Leaflet, its shapes written as GeoJSON by :mod:`.geojson`, its script and styles in
``templates/``), a static PNG (:mod:`.png`, matplotlib) and a self-contained report
(:mod:`.report`, HTML, Markdown or JSON); colours and number words shared by all in
:mod:`.style`."""
