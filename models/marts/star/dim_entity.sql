{{ star_model() }}
