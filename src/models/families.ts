// Every model family; importing this module registers them all (each registers itself on import).
import './segformer/index.js';
import './mobilenet_v2/index.js';
import './mobilevit/index.js';
